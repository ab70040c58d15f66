import shutil
import subprocess
from decimal import Decimal

import pytest
from django.template import engines

from anju.core import pdf
from anju.core.money import amount_in_words, format_wan

pytestmark = pytest.mark.pdf

TEMPLATE = """{% extends "core/pdf/base.html" %}
{% block content %}<h1>{{ title }}</h1>
<table><tr><th>买受人</th><td>{{ buyer }}</td></tr>
<tr><th>房号</th><td>{{ unit }}</td></tr>
<tr><th>总价</th><td>{{ amount }}（{{ words }}，{{ wan }}）</td></tr></table>
<img src="https://example.invalid/track.png" alt="">
{% endblock %}"""


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run([shutil.which("pdftotext"), "-layout", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture
def template(monkeypatch):
    compiled = engines["django"].from_string(TEMPLATE)
    monkeypatch.setattr(pdf, "render_to_string",
                        lambda name, context, request=None: compiled.render(context, request))


def test_renders_chinese_text_and_capitals(template, tmp_path):
    amount = Decimal("1234567.89")
    data = pdf.render_pdf("inline", {"title": "商品房买卖合同", "buyer": "张三丰",
                                     "unit": "3-1201", "amount": amount,
                                     "words": amount_in_words(amount), "wan": format_wan(amount)})
    assert data.startswith(b"%PDF")
    text = pdf_text(data, tmp_path)
    assert "商品房买卖合同" in text
    assert "张三丰" in text
    assert "3-1201" in text
    assert "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分" in text
    assert "123.46万元" in text
    assert "1 / 1" in text  # the footer's page counter


def test_remote_urls_are_not_fetched(template, monkeypatch):
    asked = []
    real = pdf.local_url

    def spy(url):
        asked.append(url)
        return real(url)

    monkeypatch.setattr(pdf, "local_url", spy)
    data = pdf.render_pdf("inline", {"title": "t"})
    assert data.startswith(b"%PDF")  # the refused image is left out, the document is drawn
    assert asked == ["https://example.invalid/track.png"]
    with pytest.raises(pdf.PdfError):
        real("file:///etc/passwd")


def test_pdf_response_headers(template):
    response = pdf.pdf_response("inline", {"title": "t"}, filename="合同 HT-2026-0001.pdf")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert "filename*=utf-8''" in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")
