"""The audit trail: who changed what, when, from what to what (django-auditlog underneath).

Apps register their key models once, in `AppConfig.ready`:

    from anju.core.audit import audit_register
    audit_register(Customer, include_fields=["name", "phone", "owner", "tier"],
                   mask_fields=["phone"])

Saves and deletes of registered models are logged by auditlog's signals with the request's
user as actor (its middleware; the API base view sets the actor after token authentication).
`anju.core.locking.update_versioned` writes its entry itself (a queryset UPDATE sends no
signal). Readers go through `audit_for_record` and `audit_search` below."""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from auditlog.context import auditlog_value
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import models
from django.db.models import Q, QuerySet
from django.db.models.signals import pre_save
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core.scoping import Principal

AUDIT_PAGE_SIZE = 50


def audit_register(model: type[models.Model], *, include_fields: list[str] | None = None,
                   exclude_fields: list[str] | None = None,
                   mask_fields: list[str] | None = None,
                   m2m_fields: list[str] | None = None) -> None:
    """Keep who/when/before/after for changes of `model` (its key fields, if named).

    `mask_fields` are logged half hidden (`****5678`), never in clear. Passwords, version
    counters and timestamps are never logged. Call once per model, from `AppConfig.ready`."""
    never = {"password", "version", "created_at", "updated_at", "last_login"}
    exclude = sorted(set(exclude_fields or []) | (never - set(include_fields or [])))
    if auditlog.contains(model):
        auditlog.unregister(model)
    auditlog.register(model, include_fields=include_fields, exclude_fields=exclude,
                      mask_fields=list(mask_fields or []), m2m_fields=set(m2m_fields or []))


def audit_set_actor(user: Any) -> None:
    """Name `user` as the actor of entries written in this request (after API authentication)."""
    try:
        context = auditlog_value.get()
    except LookupError:
        return
    if context.get("actor") is None and getattr(user, "is_authenticated", False):
        context["actor"] = user


def record_update(*, before: models.Model, after: models.Model) -> LogEntry | None:
    """Write the entry of a change saved without signals (a queryset UPDATE)."""
    model = type(after)
    if not auditlog.contains(model):
        return None
    changes = model_instance_diff(before, after,
                                  use_json_for_changes=settings.AUDITLOG_STORE_JSON_CHANGES)
    if not changes:
        return None
    return LogEntry.objects.log_create(after, action=LogEntry.Action.UPDATE, changes=changes)


def record_creates(objects: list[models.Model]) -> int:
    """Write the "created" entries of rows saved by `bulk_create` (which sends no signal), in
    one INSERT; the same entries auditlog's signal writes one by one. Returns how many."""
    if not objects or not auditlog.contains(type(objects[0])):
        return 0
    from auditlog.cid import get_cid

    content_type = ContentType.objects.get_for_model(objects[0])
    cid, now = get_cid(), timezone.now()
    entries = [LogEntry(
        content_type=content_type, object_pk=str(obj.pk),
        object_id=obj.pk if isinstance(obj.pk, int) else None, object_repr=str(obj),
        serialized_data=LogEntry.objects._get_serialized_data_or_none(obj),
        action=LogEntry.Action.CREATE, cid=cid, timestamp=now,
        changes=model_instance_diff(None, obj,
                                    use_json_for_changes=settings.AUDITLOG_STORE_JSON_CHANGES),
    ) for obj in objects]
    for entry in entries:
        # what a save would send: auditlog's request context (when one is open) names the
        # actor and the address on each entry
        pre_save.send(sender=LogEntry, instance=entry, raw=False, using=LogEntry.objects.db,
                      update_fields=None)
    LogEntry.objects.bulk_create(entries)
    return len(entries)


# --- reading --------------------------------------------------------------------------------

ACTION_LABELS = {
    LogEntry.Action.CREATE: "created",
    LogEntry.Action.UPDATE: "changed",
    LogEntry.Action.DELETE: "deleted",
    LogEntry.Action.ACCESS: "viewed",
}


@dataclass(frozen=True)
class AuditChange:
    field: str
    label: str
    before: str
    after: str


@dataclass
class AuditEntry:
    """One log entry, ready to show: the fields changed with their labels and display values."""

    id: int
    timestamp: datetime
    action: str
    action_label: str
    actor_id: int | None
    actor_name: str
    model: str
    model_label: str
    object_pk: str
    object_repr: str
    remote_addr: str | None
    changes: list[AuditChange] = field(default_factory=list)


@dataclass
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: int | None


def _require_auditor(viewer: Principal) -> None:
    if not (getattr(viewer, "is_authenticated", False) and viewer.may("read_audit")):
        raise PermissionDenied(_("Only auditors may read the audit trail."))


def _action_label(action: int) -> str:
    labels = {
        LogEntry.Action.CREATE: _("created"),
        LogEntry.Action.UPDATE: _("changed"),
        LogEntry.Action.DELETE: _("deleted"),
        LogEntry.Action.ACCESS: _("viewed"),
    }
    return str(labels.get(action, action))


def _values(raw: Any) -> tuple[Any, Any]:
    if isinstance(raw, list | tuple) and len(raw) == 2:
        return raw[0], raw[1]
    if isinstance(raw, dict):  # many-to-many entries: {"type": "m2m", "operation", "objects"}
        objects = ", ".join(str(item) for item in raw.get("objects", []))
        if raw.get("operation") == "delete":
            return objects, ""
        return "", objects
    return "", raw


def audit_present(entries: list[LogEntry]) -> list[AuditEntry]:
    """Turn log rows into display entries; related rows are fetched once per model."""
    wanted: dict[type[models.Model], set[str]] = defaultdict(set)
    parsed = []
    for entry in entries:
        model = entry.content_type.model_class()
        changes = entry.changes_dict or {}
        parsed.append((entry, model, changes))
        if model is None:
            continue
        for name, raw in changes.items():
            try:
                model_field = model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if model_field.many_to_one or model_field.one_to_one:
                for value in _values(raw):
                    if value not in (None, "", "None"):
                        wanted[model_field.related_model].add(str(value))
    names: dict[tuple[type[models.Model], str], str] = {}
    for related, pks in wanted.items():
        valid = []
        for pk in pks:
            try:
                valid.append(related._meta.pk.to_python(pk))
            except Exception:  # noqa: S112  (a legacy value stays as it was)
                continue
        for obj in related._default_manager.filter(pk__in=valid):
            names[(related, str(obj.pk))] = str(obj)

    result = []
    for entry, model, changes in parsed:
        rows = []
        for name, raw in changes.items():
            before, after = _values(raw)
            label = name
            if model is not None:
                try:
                    model_field = model._meta.get_field(name)
                except FieldDoesNotExist:
                    model_field = None
                if model_field is not None:
                    label = str(getattr(model_field, "verbose_name", name))
                    choices = dict(getattr(model_field, "flatchoices", None) or [])
                    related = getattr(model_field, "related_model", None)
                    if choices:
                        before = choices.get(before, before)
                        after = choices.get(after, after)
                    elif related is not None and not model_field.many_to_many:
                        before = names.get((related, str(before)), before)
                        after = names.get((related, str(after)), after)
            rows.append(AuditChange(field=name, label=label,
                                    before="" if before in (None, "None") else str(before),
                                    after="" if after in (None, "None") else str(after)))
        actor = entry.actor
        result.append(AuditEntry(
            id=entry.pk,
            timestamp=entry.timestamp,
            action=ACTION_LABELS.get(entry.action, str(entry.action)),
            action_label=_action_label(entry.action),
            actor_id=entry.actor_id,
            actor_name=str(actor) if actor is not None else (entry.actor_email or _("system")),
            model=f"{entry.content_type.app_label}.{entry.content_type.model}",
            model_label=str(model._meta.verbose_name) if model else entry.content_type.model,
            object_pk=entry.object_pk,
            object_repr=entry.object_repr,
            remote_addr=entry.remote_addr,
            changes=rows,
        ))
    return result


def _may_see_record(viewer: Principal, obj: models.Model) -> bool:
    if viewer.may("read_audit"):
        return True
    manager = type(obj)._default_manager
    if hasattr(manager, "visible_to"):
        return manager.visible_to(viewer).filter(pk=obj.pk).exists()
    return False


def audit_for_record(*, viewer: Principal, obj: models.Model,
                     limit: int = 200) -> list[AuditEntry]:
    """The timeline of one record, newest first: for auditors, and for whoever may see the
    record itself (a consultant sees the history of their own customer)."""
    if not getattr(viewer, "is_authenticated", False) or not _may_see_record(viewer, obj):
        raise PermissionDenied(_("You may not see the history of this record."))
    content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
    entries = list(
        LogEntry.objects.filter(content_type=content_type, object_pk=str(obj.pk))
        .select_related("actor", "content_type").order_by("-id")[:limit]
    )
    return audit_present(entries)


def _content_type_for(label: str) -> ContentType | None:
    app_label, _dot, model_name = label.lower().partition(".")
    try:
        return ContentType.objects.get_by_natural_key(app_label, model_name)
    except ContentType.DoesNotExist:
        return None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_queryset(*, viewer: Principal, actor: Any = None, model: str | None = None,
                   object_id: str | None = None, text: str | None = None,
                   date_from: date | None = None, date_to: date | None = None) -> QuerySet:
    """Log rows matching the filters, newest first (auditors only). Dates are whole local days.

    `actor` is a user, a user id or (part of) a user name; `model` is "app_label.model"."""
    _require_auditor(viewer)
    qs = LogEntry.objects.select_related("actor", "content_type").order_by("-id")
    if actor not in (None, ""):
        if isinstance(actor, models.Model):
            qs = qs.filter(actor_id=actor.pk)
        elif isinstance(actor, int) or (isinstance(actor, str) and actor.isdigit()):
            qs = qs.filter(actor_id=int(actor))
        else:
            qs = qs.filter(Q(actor__username__icontains=actor) | Q(actor_email__icontains=actor))
    if model:
        content_type = _content_type_for(model)
        qs = qs.filter(content_type=content_type) if content_type else qs.none()
    if object_id not in (None, ""):
        qs = qs.filter(object_pk=str(object_id))
    if text:
        # SQLite keeps JSON ASCII-escaped ("\\u5f20"), so look for that spelling too.
        escaped = json.dumps(text)[1:-1]
        condition = (Q(object_repr__icontains=text) | Q(changes_text__icontains=text)
                     | Q(changes__icontains=text))
        if escaped != text:
            condition |= Q(changes__icontains=escaped)
        qs = qs.filter(condition)
    if date_from:
        qs = qs.filter(timestamp__gte=_day_start(date_from))
    if date_to:
        qs = qs.filter(timestamp__lt=_day_start(date_to + timedelta(days=1)))
    return qs


def audit_search(*, viewer: Principal, actor: Any = None, model: str | None = None,
                 object_id: str | None = None, text: str | None = None,
                 date_from: date | None = None, date_to: date | None = None,
                 cursor: int | None = None, limit: int = AUDIT_PAGE_SIZE) -> AuditPage:
    """One keyset page of the audit trail for an auditor: entries older than `cursor` (an
    entry id), newest first, and the cursor of the next page (None on the last)."""
    qs = audit_queryset(viewer=viewer, actor=actor, model=model, object_id=object_id,
                        text=text, date_from=date_from, date_to=date_to)
    if cursor:
        qs = qs.filter(id__lt=cursor)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = rows[-1].pk if more and rows else None
    return AuditPage(entries=audit_present(rows), next_cursor=next_cursor)


def audit_models() -> list[tuple[str, str]]:
    """(label, verbose name) of every registered model, for the search form's choices."""
    result = []
    for model in auditlog.get_models():
        result.append((f"{model._meta.app_label}.{model._meta.model_name}",
                       str(model._meta.verbose_name)))
    return sorted(result, key=lambda item: item[1])


def sensitive_access_page(*, viewer: Principal, cursor: int | None = None,
                          limit: int = AUDIT_PAGE_SIZE, user: Any = None,
                          action: str | None = None) -> tuple[list[Any], int | None]:
    """Unmask and export log rows (`core.SensitiveAccess`), newest first, for an auditor."""
    from anju.core.models import SensitiveAccess

    _require_auditor(viewer)
    qs = SensitiveAccess.objects.select_related("user").order_by("-id")
    if action:
        qs = qs.filter(action=action)
    if user not in (None, ""):
        if isinstance(user, int) or (isinstance(user, str) and user.isdigit()):
            qs = qs.filter(user_id=int(user))
        else:
            qs = qs.filter(user__username__icontains=user)
    if cursor:
        qs = qs.filter(id__lt=cursor)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].pk if more and rows else None)

