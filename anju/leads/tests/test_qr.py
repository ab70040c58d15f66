"""The showroom check-in QR code: an SVG of the check-in page's absolute address, for staff
who see the project, on the roster page and on a poster to print."""

import re
import xml.etree.ElementTree as ET

import pytest
import segno
from django.test import Client
from django.urls import reverse

SVG = "{http://www.w3.org/2000/svg}"


def dark_modules(svg: str) -> tuple[set[tuple[int, int]], int]:
    """The dark modules drawn by the SVG's path (segno's "M x y h n m dx dy" lines), as
    (row, column) without the quiet zone, and the size of the viewBox."""
    root = ET.fromstring(svg.encode())  # noqa: S314  (our own response)
    assert root.tag == f"{SVG}svg"
    size = int(root.get("viewBox").split()[2])
    path = next(p for p in root.iter(f"{SVG}path") if p.get("class") == "qrline")
    x = y = 0.0
    dark = set()
    for command, first, second in re.findall(r"([Mmh])(-?[\d.]+)(?:\s(-?[\d.]+))?",
                                             path.get("d")):
        if command == "M":
            x, y = float(first), float(second)
        elif command == "m":
            x, y = x + float(first), y + float(second)
        else:
            length = int(float(first))
            dark.update((int(y), int(x) + step) for step in range(length))
            x += length
    return {(row - 4, column - 4) for row, column in dark}, size


def expected_modules(url: str) -> set[tuple[int, int]]:
    matrix = segno.make_qr(url, error="m").matrix
    return {(r, c) for r, row in enumerate(matrix) for c, bit in enumerate(row) if bit}


def test_the_svg_encodes_the_absolute_check_in_address(org, staff, client_for):
    response = client_for(staff["c1"]).get(reverse("leads:checkin_qr", args=["a"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    svg = response.content.decode()
    root = ET.fromstring(response.content)  # noqa: S314  (well-formed XML)
    assert root.tag == f"{SVG}svg" and root.find(f"{SVG}path") is not None
    url = "http://testserver/leads/checkin/a/"
    assert root.find(f"{SVG}title").text == url
    modules, size = dark_modules(svg)
    assert modules == expected_modules(url)  # the drawing is the QR code of that address
    assert size == len(segno.make_qr(url, error="m").matrix) + 8  # with its quiet zone
    assert "<script" not in svg


def test_the_svg_follows_the_project_and_the_host(org, staff, client_for, settings):
    settings.ALLOWED_HOSTS = ["testserver", "crm.example.cn"]
    client = client_for(staff["manager"])
    a = client.get(reverse("leads:checkin_qr", args=["a"])).content.decode()
    b = client.get(reverse("leads:checkin_qr", args=["b"])).content.decode()
    assert a != b
    assert dark_modules(b)[0] == expected_modules("http://testserver/leads/checkin/b/")
    secure = client.get(reverse("leads:checkin_qr", args=["b"]), secure=True,
                        HTTP_HOST="crm.example.cn").content.decode()
    assert dark_modules(secure)[0] == expected_modules(
        "https://crm.example.cn/leads/checkin/b/")


def test_the_svg_is_scoped(org, staff, client_for, agencies):
    url = reverse("leads:checkin_qr", args=["a"])
    # consultant of project B only: project A does not exist for them
    assert client_for(staff["cb"]).get(url).status_code == 404
    assert client_for(staff["c1"]).get(
        reverse("leads:checkin_qr", args=["nope"])).status_code == 404
    # anonymous: the sign-in page
    response = Client().get(url)
    assert response.status_code == 302 and "login" in response["Location"]
    # an agency's agent is not staff
    assert client_for(agencies["n1"]).get(url).status_code == 403


def test_an_inactive_project_has_no_code(org, staff, client_for):
    org["a"].is_active = False
    org["a"].save(update_fields=["is_active"])
    assert client_for(staff["c1"]).get(
        reverse("leads:checkin_qr", args=["a"])).status_code == 404


def test_the_roster_page_shows_the_codes_of_the_projects_in_scope(org, staff, client_for):
    page = client_for(staff["c1"]).get(reverse("leads:roster")).content.decode()
    assert f'src="{reverse("leads:checkin_qr", args=["a"])}"' in page
    assert reverse("leads:checkin_qr", args=["b"]) not in page  # not their project
    assert f'{reverse("leads:checkin_poster", args=["a"])}?size=a4' in page
    assert f'{reverse("leads:checkin_poster", args=["a"])}?size=a5' in page
    assert "http://testserver/leads/checkin/a/" in page
    # the check-in section is on the page once, and no longer inside the <title>
    assert "<title>排班 · " in page
    assert page.count('id="checkin-codes"') == 1


@pytest.mark.parametrize("size", ["a4", "a5"])
def test_the_poster_prints_name_headline_code_and_address(org, staff, client_for, size):
    response = client_for(staff["c1"]).get(
        reverse("leads:checkin_poster", args=["a"]), {"size": size})
    assert response.status_code == 200
    page = response.content.decode()
    assert "四季花城" in page and "扫码登记" in page
    assert f'src="{reverse("leads:checkin_qr", args=["a"])}"' in page
    assert "testserver/leads/checkin/a" in page
    assert f"size: {size.upper()} portrait" in page and "@media print" in page
    assert f'class="sheet {size}"' in page
    assert "<script" not in page  # nothing to run: the strict CSP has nothing to allow
    assert "Content-Security-Policy" in response.headers


def test_the_poster_is_scoped_and_its_size_checked(org, staff, client_for):
    url = reverse("leads:checkin_poster", args=["a"])
    assert client_for(staff["cb"]).get(url).status_code == 404
    assert Client().get(url).status_code == 302
    odd = client_for(staff["c1"]).get(url, {"size": "<b>"}).content.decode()
    assert 'class="sheet a4"' in odd


def test_the_code_and_the_poster_cost_the_same_whatever_the_number_of_projects(
        org, staff, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from anju.accounts.models import Project

    client = client_for(staff["admin"])
    urls = [reverse("leads:checkin_qr", args=["a"]), reverse("leads:checkin_poster", args=["a"])]

    def counts():
        result = []
        for url in urls:
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            result.append(len(captured))
        return result

    few = counts()
    for index in range(10):
        Project.objects.create(company=org["first"], name=f"项目{index}", code=f"p{index}",
                               city="杭州")
    assert counts() == few


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_chromium_the_codes_show_and_the_poster_prints_on_one_page(open_as, org, staff):
    roster = open_as(staff["c1"], reverse("leads:roster"))
    image = roster.locator("#checkin-codes img").first
    image.scroll_into_view_if_needed()
    roster.wait_for_function(
        "() => { const i = document.querySelector('#checkin-codes img');"
        " return i.complete && i.naturalWidth > 0; }")
    assert roster.csp_errors == []
    for size in ("a4", "a5"):
        poster = open_as(staff["c1"],
                         reverse("leads:checkin_poster", args=["a"]) + f"?size={size}")
        poster.wait_for_function(
            "() => { const i = document.querySelector('img.qr');"
            " return i.complete && i.naturalWidth > 0; }")
        assert poster.csp_errors == []
        poster.emulate_media(media="print")
        assert poster.locator(".toolbar").is_hidden()
        assert poster.locator("h1").inner_text() == "扫码登记"
        pdf = poster.pdf(prefer_css_page_size=True, print_background=True)
        assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1  # the poster fits one sheet
