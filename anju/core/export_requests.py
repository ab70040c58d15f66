"""Approval of bulk exports: what happens after `ExportNeedsApproval`.

1. The page that caught it calls `export_request_create(...)` with the list's filters and the
   path of its own download view; approvers (team leader of the requester, else every user
   holding `approve_exports` who can see the requester) get an inbox notification.
2. An approver calls `export_request_decide(approve=True/False)`; the requester is notified.
3. The requester opens the download path; the owning app checks `export_request_for_download`
   and re-runs its list in the requester's own scope with `export_table(approved=True)` —
   the rows are never wider than what the requester could see page by page."""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import ExportRequest
from .notifications.services import notify

DOWNLOAD_DAYS = 7


def _approvers(requester) -> list:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    team = getattr(requester, "team", None)
    leader = getattr(team, "leader", None) if team is not None else None
    leaders = [leader] if (leader is not None and leader.pk != requester.pk
                           and leader.may("approve_exports")) else []
    if leaders:
        return leaders
    candidates = (User.objects.filter(is_active=True)
                  .exclude(pk=requester.pk).select_related("role")[:500])
    return [user for user in candidates
            if user.may("approve_exports")
            and User.objects.visible_to(user).filter(pk=requester.pk).exists()][:20]


def may_decide(user, export_request: ExportRequest) -> bool:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return bool(getattr(user, "is_authenticated", False) and user.may("approve_exports")
                and user.pk != export_request.requested_by_id
                and User.objects.visible_to(user).filter(
                    pk=export_request.requested_by_id).exists())


@transaction.atomic
def export_request_create(*, actor, target: str, title: str, query: str, file_format: str,
                          rows: int, download_path: str, reason: str = "",
                          inbox_url: str = "") -> ExportRequest:
    """Files a request for a bulk export and tells the approvers."""
    if not getattr(actor, "is_authenticated", False) or not actor.may("export"):
        raise PermissionDenied(_("You may not export lists."))
    if len(reason or "") > 200:
        raise ValidationError({"reason": _("At most %(limit)d characters.") % {"limit": 200}})
    pending = ExportRequest.objects.filter(requested_by=actor, target=target, query=query,
                                           file_format=file_format,
                                           state=ExportRequest.State.PENDING).first()
    if pending is not None:
        return pending
    export_request = ExportRequest.objects.create(
        requested_by=actor, target=target[:100], title=str(title)[:200], query=query[:1000],
        file_format=file_format, rows=rows, download_path=download_path[:300],
        reason=(reason or "")[:200])
    notify(recipients=_approvers(actor), kind="export_request",
           title=_("%(user)s asks to export “%(title)s” (more than %(rows)d rows)") % {
               "user": actor, "title": title, "rows": rows},
           body=export_request.reason, url=inbox_url, level="warning")
    return export_request


@transaction.atomic
def export_request_decide(*, actor, export_request: ExportRequest | int, approve: bool,
                          note: str = "", download_url: str = "") -> ExportRequest:
    pk = export_request.pk if isinstance(export_request, ExportRequest) else export_request
    found = ExportRequest.objects.select_for_update().filter(pk=pk).first()
    if found is None or not may_decide(actor, found):
        raise PermissionDenied(_("You may not decide on this export."))
    if found.state != ExportRequest.State.PENDING:
        raise ValidationError({"state": _("This request was already decided.")})
    found.state = ExportRequest.State.APPROVED if approve else ExportRequest.State.REJECTED
    found.decided_by = actor
    found.decided_at = timezone.now()
    found.decision_note = (note or "")[:200]
    found.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    title = (_("Your export “%(title)s” was approved") if approve
             else _("Your export “%(title)s” was rejected")) % {"title": found.title}
    notify(recipients=[found.requested_by], kind="export_decided", title=title,
           body=found.decision_note, url=(download_url or found.download_path) if approve else "")
    return found


@transaction.atomic
def export_request_for_download(*, actor, pk) -> ExportRequest:
    """The approved request of this user, counted as downloaded; Http404 otherwise."""
    found = (ExportRequest.objects.select_for_update()
             .filter(pk=pk, requested_by_id=getattr(actor, "pk", None)).first())
    if found is None or found.state != ExportRequest.State.APPROVED:
        raise Http404(_("No approved export with this number."))
    if found.decided_at and found.decided_at < timezone.now() - datetime.timedelta(
            days=DOWNLOAD_DAYS):
        raise Http404(_("This approval has expired; ask again."))
    ExportRequest.objects.filter(pk=found.pk).update(downloads=found.downloads + 1)
    return found


def export_requests_for(*, user) -> dict[str, QuerySet[ExportRequest]]:
    """Mine, and (for approvers) the pending ones they may decide."""
    mine = ExportRequest.objects.filter(requested_by=user).select_related("decided_by")[:50]
    to_decide: list[ExportRequest] = []
    if getattr(user, "is_authenticated", False) and user.may("approve_exports"):
        from django.contrib.auth import get_user_model

        visible = get_user_model().objects.visible_to(user).values("pk")
        to_decide = list(ExportRequest.objects.filter(
            state=ExportRequest.State.PENDING, requested_by__in=visible)
            .exclude(requested_by=user).select_related("requested_by")[:100])
    return {"mine": list(mine), "to_decide": to_decide}
