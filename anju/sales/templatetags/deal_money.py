"""Money in deal templates: `{{ amount|yuan }}` → ¥1,234,567.89, `{{ amount|wan }}` →
123.46万元, `{{ amount|in_words }}` → 壹佰贰拾叁万… (anju.core.money)."""

from django import template

from anju.core.money import MoneyError, amount_in_words, format_wan, format_yuan

register = template.Library()


@register.filter
def yuan(value) -> str:
    try:
        return format_yuan(value)
    except (MoneyError, TypeError):
        return "—"


@register.filter
def wan(value) -> str:
    try:
        return format_wan(value)
    except (MoneyError, TypeError):
        return "—"


@register.filter
def in_words(value) -> str:
    try:
        return amount_in_words(value)
    except (MoneyError, TypeError):
        return "—"
