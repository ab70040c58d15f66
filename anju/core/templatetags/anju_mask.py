"""Masking in templates: `{% load anju_mask %}`.

- `{{ customer.phone|mask_phone }}`, `{{ person.id_number|mask_id_number }}`: always masked,
  whoever looks (an optional user argument, `|mask_phone:user`, is accepted and changes
  nothing: an unmasked value on a page must be asked for and logged).
- `{% sensitive customer "phone" %}`: the masked value, plus a reveal button for users who
  may unmask, when the field is registered (`register_sensitive_field`); the button POSTs
  to `core:sensitive-reveal` with htmx and swaps in the plain value.
- `{{ customer.phone|phone_display }}`: national form, for values that are not sensitive
  (a company's switchboard)."""

import json

from django import template
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from anju.core import masking
from anju.core.normalise.phone import format_phone

register = template.Library()


@register.filter
def mask_phone(value, user=None):
    return masking.mask_phone(value)


@register.filter
def mask_id_number(value, user=None):
    return masking.mask_id_number(value)


@register.filter
def phone_display(value):
    return format_phone(value or "")


@register.simple_tag(takes_context=True)
def sensitive(context, obj, field_name: str):
    value = getattr(obj, field_name, "") or ""
    spec = masking.get_sensitive_field(obj._meta.label_lower, field_name)
    kind = spec.kind if spec else (masking.ID_NUMBER if "id_number" in field_name
                                   else masking.PHONE)
    masked = masking.mask_value(value, kind)
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if not value or spec is None or request is None or not masking.may_reveal(user):
        return format_html('<span class="sensitive" data-kind="{}">{}</span>', kind, masked)
    url = reverse("core:sensitive-reveal", args=[spec.target, obj.pk, field_name])
    headers = json.dumps({"X-CSRFToken": get_token(request)})
    return format_html(
        '<span class="sensitive" data-kind="{kind}">{masked} '
        '<button type="button" class="sensitive-reveal" hx-post="{url}" hx-headers="{headers}" '
        'hx-target="closest .sensitive" hx-swap="outerHTML" title="{title}">{label}</button>'
        "</span>",
        kind=kind, masked=masked, url=url, headers=headers,
        title=_("Show the full value (this is logged)"), label=_("Show"),
    )
