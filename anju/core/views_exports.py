"""Export approval pages: the requester's list and the approver's decisions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .export_requests import export_request_decide, export_requests_for


@login_required
@require_GET
def export_requests(request: HttpRequest) -> HttpResponse:
    return render(request, "core/export_requests.html", export_requests_for(user=request.user))


@login_required
@require_POST
def export_request_decision(request: HttpRequest, pk: int) -> HttpResponse:
    approve = request.POST.get("decision") == "approve"
    try:
        export_request_decide(actor=request.user, export_request=pk, approve=approve,
                              note=request.POST.get("note", ""))
    except PermissionDenied:
        raise
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The export was approved.") if approve
                         else _("The export was rejected."))
    return redirect("core:export-requests")
