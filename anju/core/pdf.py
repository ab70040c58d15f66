"""PDF documents (contracts, quotes, receipts) rendered from Django templates by WeasyPrint.

A document is an ordinary template that extends `core/pdf/base.html` (A4, a CJK font, the
document's title and a page number in the footer); `render_pdf` returns the bytes and
`pdf_response` wraps them for a view. WeasyPrint draws the text with Pango, so the machine
needs a CJK font (fonts-wqy-microhei, or Noto Sans CJK): `PDF_FONT_FAMILIES` lists the
families tried in order, overridable in settings.

The fetcher only reads local static files and `data:` URLs: a template that names a remote
URL (say, a floor-plan image a user pasted) cannot make the server fetch it."""

from functools import lru_cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.http import content_disposition_header

DEFAULT_FONT_FAMILIES = (
    "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC",
    "PingFang SC", "Microsoft YaHei", "sans-serif",
)


class PdfError(RuntimeError):
    """The document could not be drawn (WeasyPrint or its system libraries are missing)."""


def font_families() -> tuple[str, ...]:
    return tuple(getattr(settings, "PDF_FONT_FAMILIES", DEFAULT_FONT_FAMILIES))


def _font_css() -> str:
    families = ", ".join(f'"{name}"' if " " in name else name for name in font_families())
    return f"html {{ font-family: {families}; }}"


def _local_fetcher():
    """A WeasyPrint fetcher that serves `data:` URLs and files found by the static finders
    (`static/...` relative to the document) and refuses everything else."""
    from weasyprint.urls import URLFetcher

    class LocalURLFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            return super().fetch(local_url(url), headers)

    return LocalURLFetcher(allowed_protocols=("data", "file"))


STATIC_BASE = "file:///anju-static/"


def local_url(url: str) -> str:
    """The URL WeasyPrint may open for `url`, or PdfError when it must not be opened."""
    if url.startswith("data:"):
        return url
    if url.startswith(STATIC_BASE):
        path = finders.find(url.removeprefix(STATIC_BASE).split("?", 1)[0])
        if path:
            return f"file://{path}"
    raise PdfError(f"refusing to fetch {url!r} while drawing a PDF")


@lru_cache(maxsize=1)
def _font_config():
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def render_pdf(template_name: str, context: dict | None = None, *, request=None) -> bytes:
    """The template rendered to HTML, then drawn as PDF bytes."""
    try:
        from weasyprint import CSS, HTML
    except (ImportError, OSError) as error:  # missing Pango/cairo libraries raise OSError
        raise PdfError(str(error)) from error
    html = render_to_string(template_name, context or {}, request=request)
    font_config = _font_config()
    document = HTML(string=html, base_url=STATIC_BASE, url_fetcher=_local_fetcher())
    return document.write_pdf(
        stylesheets=[CSS(string=_font_css(), font_config=font_config)],
        font_config=font_config,
    )


def pdf_response(template_name: str, context: dict | None = None, *, filename: str,
                 request=None, inline: bool = True) -> HttpResponse:
    """A view's answer: the PDF shown in the browser (or downloaded when `inline` is False)."""
    response = HttpResponse(render_pdf(template_name, context, request=request),
                            content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(not inline, filename)
    return response
