"""One board cell as HTML, shared by the board and its "changed cells" answer.

Built as strings (every value escaped) rather than with a template loop: a 40 × 8 board
draws 320 cells, and a loop with a tag per cell costs more than the rest of the page."""

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from anju.core.money import to_wan

register = template.Library()


def _cell(cell, prefix: str, oob: bool) -> str:
    unit = cell.unit
    classes = "cell s-" + unit.status
    if not cell.matches:
        classes += " dim"
    if oob:
        classes += " changed"
    return (f'<button type="button" id="unit-{unit.id}" class="{escape(classes)}" '
            f'title="{escape(cell.title)}" data-status="{escape(unit.status)}" '
            f'hx-get="{prefix}{unit.id}/" hx-target="#unit-panel"'
            f'{OOB if oob else ""}><span class="cell-no">{escape(unit.number)}</span>'
            f'<span class="cell-price">{to_wan(unit.list_price, 1)}万</span></button>')


OOB = ' hx-swap-oob="true"'


@register.simple_tag
def board_cell(cell, panel_prefix: str, oob: bool = False) -> SafeString:
    """One cell (the poll's out-of-band answer uses `oob`)."""
    return mark_safe(_cell(cell, escape(panel_prefix), oob))  # noqa: S308 (escaped above)


@register.simple_tag
def board_rows(board, panel_prefix: str) -> SafeString:
    """Every row of the board's table: floor label, then one cell per position."""
    prefix = escape(panel_prefix)
    rows = []
    for floor, cells in board.floors:
        parts = [f'<tr><th scope="row" class="floor">{floor}F</th>']
        for cell in cells:
            parts.append(f"<td>{_cell(cell, prefix, False)}</td>" if cell else "<td></td>")
        parts.append("</tr>")
        rows.append("".join(parts))
    return mark_safe("\n".join(rows))  # noqa: S308 (every value escaped in _cell)


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
