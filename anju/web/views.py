from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from anju.core.registry import Tile, dashboard


def _tile_html(tile: Tile, request: HttpRequest) -> str:
    if tile.template_name:
        return render_to_string(tile.template_name, tile.get_context(request), request=request)
    if tile.render is not None:
        return mark_safe(tile.render(request))  # noqa: S308  (a Tile promises safe HTML)
    return ""


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The dashboard: the registry's tiles this user may see, in order."""
    tiles = [
        {"tile": tile, "html": _tile_html(tile, request), "chart_url": tile.chart_url}
        for tile in dashboard.for_user(request.user)
    ]
    return render(request, "web/home.html", {"tiles": tiles})
