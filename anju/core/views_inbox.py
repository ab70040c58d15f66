"""The inbox pages: thin views over `anju.core.notifications` selectors and services."""

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import formats
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .models import Notification
from .notifications.selectors import inbox_page, notifications_per_day, unread_count
from .notifications.services import notification_mark_all_read, notification_mark_read


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _with_unread(response: HttpResponse, request: HttpRequest) -> HttpResponse:
    """Tells the page's badge the new unread count (anju.js listens to `anju:unread`)."""
    response["HX-Trigger"] = json.dumps({"anju:unread": unread_count(user=request.user)})
    return response


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("filter") == "unread"
    page = inbox_page(user=request.user, unread_only=unread_only,
                      cursor=request.GET.get("cursor") or None)
    context = {"page": page, "unread_only": unread_only}
    if _is_htmx(request) and request.GET.get("cursor"):
        return render(request, "core/inbox_items.html", context)
    return render(request, "core/inbox.html", context)


def _ids(request: HttpRequest) -> list[int]:
    ids = []
    for value in request.POST.getlist("ids"):
        try:
            ids.append(int(value))
        except ValueError:
            continue
    return ids


@login_required
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    ids = _ids(request)
    notification_mark_read(user=request.user, ids=ids)
    if _is_htmx(request) and len(ids) == 1:
        item = Notification.objects.filter(recipient_id=request.user.pk, pk=ids[0]).first()
        if item is None:
            return HttpResponse(status=404)
        return _with_unread(render(request, "core/inbox_item.html", {"n": item}), request)
    return _back(request)


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    notification_mark_all_read(user=request.user)
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return _with_unread(response, request)
    return _back(request)


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect("core:inbox")


@login_required
@require_GET
def chart(request: HttpRequest) -> JsonResponse:
    """An ECharts `option`: the user's notifications per day over the last 14 days."""
    series = notifications_per_day(user=request.user, days=14)
    labels = [formats.date_format(day, "m-d") for day, _count in series]
    return JsonResponse({
        "grid": {"left": 32, "right": 12, "top": 16, "bottom": 28},
        "animationDuration": 300,
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [{"name": _("Notifications"), "type": "bar", "data": [n for _d, n in series],
                    "itemStyle": {"color": "#1f5f8b"}}],
    })
