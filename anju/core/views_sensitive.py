"""The page twin of the reveal API: an htmx POST swaps a masked value for the plain one."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from anju.core import masking


@login_required
@require_POST
def sensitive_reveal(request: HttpRequest, target: str, pk: str, field: str) -> HttpResponse:
    spec, value = masking.sensitive_reveal(
        user=request.user, target=target, object_id=pk, field=field,
        remote_addr=masking.client_address(request),
    )
    return HttpResponse(format_html(
        '<span class="sensitive is-revealed" data-kind="{}">{}</span>',
        spec.kind, masking.display_value(value, spec.kind),
    ))
