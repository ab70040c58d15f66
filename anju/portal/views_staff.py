"""Customer service's page of owner portal accounts: list and search the accounts of the
owners of the viewer's projects (phones masked), disable one with a reason, enable it again.
Thin: the selectors read within the viewer's scope, the services check it again."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from anju.core.masking import mask_phone

from . import selectors, services
from .services import PortalError


def _manager(request: HttpRequest) -> None:
    if not selectors.may_manage_owner_accounts(request.user):
        raise PermissionDenied


def _page(request: HttpRequest, *, errors: dict | None = None, message: str = "",
          failed_id: int | None = None, status: int = 200) -> HttpResponse:
    query = request.GET.get("q", "")[:50] if request.method == "GET" else request.POST.get(
        "q", "")[:50]
    try:
        before = int(request.GET.get("before") or 0) or None
    except ValueError:
        before = None
    rows = selectors.owner_accounts_search(user=request.user, query=query, before_id=before)
    more = len(rows) > selectors.ACCOUNTS_PAGE
    rows = rows[:selectors.ACCOUNTS_PAGE]
    for account in rows:
        account.masked_phone = mask_phone(account.phone)
    next_url = ""
    if more and rows:
        next_url = "?" + urlencode({"q": query, "before": rows[-1].pk})
    return render(request, "portal/staff_accounts.html", {
        "accounts": rows, "query": query, "next_url": next_url, "errors": errors or {},
        "message": message, "failed_id": failed_id}, status=status)


@login_required
def owner_accounts(request: HttpRequest) -> HttpResponse:
    _manager(request)
    return _page(request)


@login_required
@require_POST
def owner_account_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _manager(request)
    try:
        if action == "disable":
            services.owner_account_disable(actor=request.user, account_id=pk,
                                           reason=request.POST.get("reason", ""))
        elif action == "enable":
            services.owner_account_enable(actor=request.user, account_id=pk)
        else:
            raise Http404
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return _page(request, errors=errors, failed_id=pk, status=400)
    except PortalError as exc:
        if exc.code == "not_found":
            raise Http404 from None
        return _page(request, message=exc.message, failed_id=pk, status=409)
    query = request.POST.get("q", "")[:50]
    target = "portal:staff_accounts"
    response = redirect(target)
    if query:
        response["Location"] += "?" + urlencode({"q": query})
    return response
