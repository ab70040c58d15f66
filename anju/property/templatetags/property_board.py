"""One board cell as HTML, shared by the board and its "changed cells" answer.

Built with format_html rather than an included template: a 40 × 8 board draws 320 cells,
and an include per cell costs more than the rest of the page."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from anju.core.money import to_wan

register = template.Library()


@register.simple_tag
def board_cell(cell, panel_prefix: str, oob: bool = False) -> SafeString:
    unit = cell.unit
    classes = f"cell s-{unit.status}"
    if not cell.matches:
        classes += " dim"
    if oob:
        classes += " changed"
    return format_html(
        '<button type="button" id="unit-{}" class="{}" title="{}" '
        'data-status="{}" hx-get="{}{}/" hx-target="#unit-panel"{}>'
        '<span class="cell-no">{}</span><span class="cell-price">{}</span></button>',
        unit.pk, classes, cell.title, unit.status, panel_prefix, unit.pk,
        mark_safe(' hx-swap-oob="true"') if oob else "",
        unit.number, f"{to_wan(unit.list_price, 1)}万")


@register.filter
def wan(value) -> str:
    """An amount in 万元, the way sales offices quote prices: 128.50万元."""
    from anju.core.money import format_wan

    return "—" if value in (None, "") else format_wan(value)


@register.filter
def yuan(value) -> str:
    """¥1,234,567.89"""
    from anju.core.money import format_yuan

    return "—" if value in (None, "") else format_yuan(value)
