"""Merge (合并): two records of one person become one, and nothing hung on either is lost.

`customer_merge` moves every row that points at the merged customer to the survivor, found
generically through `Customer._meta.related_objects` (foreign keys, one-to-ones and the
through tables of many-to-many fields, the customer's own included), so rows that later apps
hang on a customer (deals, tickets, points) move without code here. Unique collisions are
resolved by the constraints the related model declares:

- a row that would repeat one the survivor already has (the same tag twice, the same project
  of interest) is dropped: the survivor keeps its own;
- a one-per-customer row (a one-to-one like `CustomerNeed`) stays the survivor's unless
  `field_choices` names the merged one (`{"need": "merged"}`); the survivor's blanks are
  filled from the merged row;
- a row that other rows still depend on is never dropped: the merge stops with a message,
  and the app that owns the model registers a handler (`merge_handlers.register(model, fn)`)
  for what a generic move cannot do.

The merged customer keeps its row with `merged_into = survivor` (excluded from lists and
search; `customer_resolve_merged` sends its old address to the survivor), a `MergeRecord`
explains the merge afterwards (who, when, why, a snapshot of the merged record, what moved),
and both records get an audit entry in the same transaction.

Who may merge: data stewards (`may_merge`): users whose role may manage users (admins) or
approve exports (sales and service managers), and only customers inside their data scope."""

import contextlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from auditlog.models import LogEntry
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anju.core.crypto import lookup_hash
from anju.core.fields import EncryptedTextField, LookupHashField
from anju.core.locking import VersionConflict
from anju.core.masking import mask_id_number, mask_phone
from anju.core.notifications import notify

from .indexing import customer_terms_rebuild
from .models import (
    ConsentRecord,
    Customer,
    CustomerPhone,
    CustomerSearchTerm,
    DuplicateCandidate,
    DuplicateDismissal,
    HouseholdMember,
    MergeRecord,
)

__all__ = [
    "MERGEABLE_FIELDS",
    "MergeHandlers",
    "customer_merge",
    "customer_resolve_merged",
    "duplicate_dismiss",
    "may_merge",
    "merge_handlers",
    "merge_record_get",
    "merge_records_for",
    "move_rows",
    "related_links",
]

SURVIVOR, MERGED = "survivor", "merged"

# Customer fields a steward may take from either record (the survivor's by default; its
# blanks are filled from the merged record whatever the choice).
MERGEABLE_FIELDS = ("name", "gender", "birthday", "id_number", "occupation", "income_band",
                    "address", "source_channel", "owner", "project", "stage")
FILLABLE_FIELDS = ("gender", "birthday", "id_number", "occupation", "income_band", "address",
                   "source_channel", "owner", "project")
SNAPSHOT_ROWS = 200  # related rows kept in full in the snapshot; beyond, their ids


def may_merge(user: Any) -> bool:
    """Data stewards: admins (manage users) and managers (approve exports)."""
    return bool(getattr(user, "is_authenticated", False)) and (
        user.may("manage_users") or user.may("approve_exports"))


# --- the registry of special cases ------------------------------------------------------------

MergeHandler = Callable[..., int | None]


class MergeHandlers:
    """Per related model, a function that moves its rows instead of the generic move.

    `fn(*, survivor, merged, actor, field_choices) -> int | None` runs inside the merge's
    transaction with both customers locked; it returns how many rows it moved (None: nothing
    to report). It may call `move_rows(...)` for the part a generic move can do."""

    def __init__(self) -> None:
        self._handlers: dict[type[models.Model], MergeHandler] = {}

    def register(self, model: type[models.Model], fn: MergeHandler) -> MergeHandler:
        if model in self._handlers and self._handlers[model] is not fn:
            raise ValueError(f"a merge handler for {model._meta.label} is already registered")
        self._handlers[model] = fn
        return fn

    def unregister(self, model: type[models.Model]) -> None:
        self._handlers.pop(model, None)

    def get(self, model: type[models.Model]) -> MergeHandler | None:
        return self._handlers.get(model)

    def __contains__(self, model: object) -> bool:
        return model in self._handlers


merge_handlers = MergeHandlers()


# --- what points at a customer ---------------------------------------------------------------

@dataclass(frozen=True)
class RelatedLink:
    """One column that points at a customer: `model.field_name` (a through table's too)."""

    model: type[models.Model]
    field_name: str
    accessor: str  # the name a steward's field_choices uses for one-per-customer rows

    @property
    def label(self) -> str:
        return self.model._meta.label


def related_links() -> list[RelatedLink]:
    """Every foreign key to Customer in the project, found at run time (later apps included)."""
    links: dict[tuple[type[models.Model], str], RelatedLink] = {}
    reverse = [rel for rel in Customer._meta.get_fields(include_hidden=True)
               if rel.auto_created and not rel.concrete]  # "+" related names included
    for rel in reverse:
        accessor = rel.get_accessor_name() or ""
        if rel.many_to_many:
            model, name = rel.through, rel.field.m2m_reverse_field_name()
        else:
            model, name = rel.related_model, rel.field.name
        if not accessor or accessor.endswith("+"):
            accessor = name
        links.setdefault((model, name), RelatedLink(model, name, accessor))
    for m2m in Customer._meta.many_to_many:
        through = m2m.remote_field.through
        links[(through, m2m.m2m_field_name())] = RelatedLink(through, m2m.m2m_field_name(),
                                                             m2m.name)
    return sorted(links.values(), key=lambda link: (link.label, link.field_name))


def _links_by_model() -> dict[type[models.Model], list[RelatedLink]]:
    grouped: dict[type[models.Model], list[RelatedLink]] = defaultdict(list)
    for link in related_links():
        grouped[link.model].append(link)
    return grouped


def _moved_key(link: RelatedLink, grouped: dict[type[models.Model], list[RelatedLink]]) -> str:
    return link.label if len(grouped[link.model]) == 1 else f"{link.label}.{link.field_name}"


# --- the generic move --------------------------------------------------------------------------

def _unique_sets(model: type[models.Model], field_name: str) -> list[tuple[str, ...]]:
    """The other columns of each unconditional unique rule that includes `field_name`."""
    sets: list[tuple[str, ...]] = []
    if model._meta.get_field(field_name).unique:
        sets.append(())
    for together in model._meta.unique_together:
        if field_name in together:
            sets.append(tuple(name for name in together if name != field_name))
    for constraint in model._meta.constraints:
        if (isinstance(constraint, models.UniqueConstraint) and constraint.fields
                and field_name in constraint.fields and constraint.condition is None
                and not constraint.expressions):
            sets.append(tuple(name for name in constraint.fields if name != field_name))
    return sets


def _is_blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _ensure_nothing_depends_on(model: type[models.Model], pks: list[Any]) -> None:
    """Refuse to drop rows that other rows point at (their data would be lost)."""
    if not pks:
        return
    for rel in model._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete):
            continue
        if rel.many_to_many:
            rows = rel.through._base_manager.filter(
                **{f"{rel.field.m2m_reverse_field_name()}__in": pks})
        else:
            rows = rel.related_model._base_manager.filter(**{f"{rel.field.name}__in": pks})
        if rows.exists():
            raise ValidationError(_(
                "Both records have %(model)s that cannot be combined automatically; the "
                "merge was not made.") % {"model": model._meta.verbose_name_plural})


def _fill_blanks(model: type[models.Model], keep: models.Model, other: models.Model,
                 skip: str) -> list[str]:
    changed = []
    for model_field in model._meta.concrete_fields:
        if (model_field.primary_key or model_field.name == skip
                or isinstance(model_field, LookupHashField)
                or getattr(model_field, "auto_now", False)
                or getattr(model_field, "auto_now_add", False)):
            continue
        if _is_blank(getattr(keep, model_field.attname)) and not _is_blank(
                getattr(other, model_field.attname)):
            setattr(keep, model_field.attname, getattr(other, model_field.attname))
            changed.append(model_field.name)
    return changed


def move_rows(model: type[models.Model], field_name: str, *, survivor: Customer,
              merged: Customer, choice: str | None = None) -> int:
    """Point every `model` row whose `field_name` is the merged customer at the survivor;
    returns how many moved. Rows that would break a unique rule are resolved as described in
    the module's docstring. Handlers may call this for the generic part of their work."""
    manager = model._base_manager
    theirs = manager.filter(**{field_name: merged.pk})
    mine = manager.filter(**{field_name: survivor.pk})
    drop: list[Any] = []
    for others in _unique_sets(model, field_name):
        if not others:  # one row per customer
            their_row = theirs.first()
            my_row = mine.first()
            if their_row is None or my_row is None:
                continue
            if choice == MERGED:
                _ensure_nothing_depends_on(model, [my_row.pk])
                my_row.delete()
            else:
                if _fill_blanks(model, my_row, their_row, skip=field_name):
                    my_row.save()
                drop.append(their_row.pk)
            continue
        kept = set(mine.values_list(*others))
        drop.extend(pk for pk, *values in theirs.values_list("pk", *others)
                    if tuple(values) in kept)
    if drop:
        _ensure_nothing_depends_on(model, drop)
        manager.filter(pk__in=drop).delete()
    try:
        with transaction.atomic():
            return theirs.update(**{field_name: survivor.pk})
    except IntegrityError as error:
        raise ValidationError(_(
            "Both records have %(model)s that cannot be combined automatically; the merge was "
            "not made.") % {"model": model._meta.verbose_name_plural}) from error


# --- the handlers of the ledger's own tables ----------------------------------------------------

def _move_phones(*, survivor: Customer, merged: Customer, actor: Any,
                 field_choices: dict[str, str]) -> int:
    """Numbers are unique, so they all move; the survivor keeps its primary unless the steward
    chose the merged one's (`{"primary_phone": "merged"}`) or it has none."""
    take_theirs = field_choices.get("primary_phone") == MERGED
    survivor_has_primary = CustomerPhone.objects.filter(customer=survivor,
                                                        is_primary=True).exists()
    theirs_primary = CustomerPhone.objects.filter(customer=merged, is_primary=True).first()
    if take_theirs and theirs_primary is not None:
        CustomerPhone.objects.filter(customer=survivor, is_primary=True).update(is_primary=False)
    elif survivor_has_primary:
        CustomerPhone.objects.filter(customer=merged, is_primary=True).update(is_primary=False)
    return CustomerPhone.objects.filter(customer=merged).update(customer=survivor)


def _drop_search_terms(*, survivor: Customer, merged: Customer, actor: Any,
                       field_choices: dict[str, str]) -> None:
    """The merged record is out of search; the survivor's terms are rebuilt after the merge."""
    CustomerSearchTerm.objects.filter(customer=merged).delete()
    return None


def _keep_merge_history(*, survivor: Customer, merged: Customer, actor: Any,
                        field_choices: dict[str, str]) -> None:
    """Earlier merge records stay as they were written: history is not rewritten."""
    return None


def _drop_dismissals(*, survivor: Customer, merged: Customer, actor: Any,
                     field_choices: dict[str, str]) -> None:
    """"Not a duplicate" judgements about the merged record end with it."""
    DuplicateDismissal.objects.filter(first=merged).delete()
    DuplicateDismissal.objects.filter(second=merged).delete()
    return None


def _drop_candidates(*, survivor: Customer, merged: Customer, actor: Any,
                     field_choices: dict[str, str]) -> None:
    """The merged record's stored duplicate pairs end with it (the next scan finds the
    survivor's own); moved onto the survivor they would pair it with itself."""
    DuplicateCandidate.objects.filter(Q(first=merged) | Q(second=merged)).delete()
    return None


def _move_household(*, survivor: Customer, merged: Customer, actor: Any,
                    field_choices: dict[str, str]) -> int:
    moved = HouseholdMember.objects.filter(customer=merged).update(customer=survivor)
    moved += HouseholdMember.objects.filter(related_customer=merged).update(
        related_customer=survivor)
    # The survivor's spouse was the merged record itself: the link would point at itself.
    HouseholdMember.objects.filter(customer=survivor, related_customer=survivor).update(
        related_customer=None)
    return moved


merge_handlers.register(CustomerPhone, _move_phones)
merge_handlers.register(CustomerSearchTerm, _drop_search_terms)
merge_handlers.register(MergeRecord, _keep_merge_history)
merge_handlers.register(DuplicateDismissal, _drop_dismissals)
merge_handlers.register(DuplicateCandidate, _drop_candidates)
merge_handlers.register(HouseholdMember, _move_household)


# --- snapshot ----------------------------------------------------------------------------------

def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder, default=str))


def _row(obj: models.Model) -> dict[str, Any]:
    """A row's columns; encrypted values kept masked (the snapshot is not encrypted)."""
    row: dict[str, Any] = {}
    for model_field in type(obj)._meta.concrete_fields:
        value = getattr(obj, model_field.attname)
        if isinstance(model_field, EncryptedTextField):
            value = mask_id_number(value)
        row[model_field.attname] = value
    return row


def _snapshot(merged: Customer, links: list[RelatedLink],
              grouped: dict[type[models.Model], list[RelatedLink]]) -> dict[str, Any]:
    related: dict[str, Any] = {}
    for link in links:
        rows = link.model._base_manager.filter(**{link.field_name: merged.pk}).order_by("pk")
        count = rows.count()
        if not count:
            continue
        key = _moved_key(link, grouped)
        if count <= SNAPSHOT_ROWS:
            related[key] = {"count": count, "rows": [_row(obj) for obj in rows]}
        else:
            related[key] = {"count": count,
                            "ids": list(rows.values_list("pk", flat=True)[:10_000])}
    return _jsonable({"customer": _row(merged), "related": related})


# --- the merge ---------------------------------------------------------------------------------

@dataclass
class _Plan:
    changes: dict[str, Any] = field(default_factory=dict)
    take_id_number: bool = False


def _clean_choices(field_choices: dict[str, str] | None,
                   links: Iterable[RelatedLink]) -> dict[str, str]:
    choices = dict(field_choices or {})
    allowed = set(MERGEABLE_FIELDS) | {"primary_phone"} | {
        link.accessor for link in links
        if () in _unique_sets(link.model, link.field_name)}
    unknown = sorted(key for key in choices if key not in allowed)
    wrong = sorted(key for key, value in choices.items() if value not in (SURVIVOR, MERGED))
    if unknown or wrong:
        raise ValidationError({"field_choices": _(
            "Choose “survivor” or “merged” for each of: %(fields)s.") % {
            "fields": ", ".join(sorted(allowed))}})
    return choices


def _plan_fields(survivor: Customer, merged: Customer, choices: dict[str, str]) -> _Plan:
    plan = _Plan()
    for name in MERGEABLE_FIELDS:
        attname = Customer._meta.get_field(name).attname
        mine, theirs = getattr(survivor, attname), getattr(merged, attname)
        take = choices.get(name) == MERGED or (name in FILLABLE_FIELDS and _is_blank(mine))
        if take and not _is_blank(theirs) and theirs != mine:
            plan.changes[attname] = theirs
    if "id_number" in plan.changes:
        plan.take_id_number = True
        plan.changes["id_number_hash"] = lookup_hash(plan.changes["id_number"])
    if merged.last_contact_at and (survivor.last_contact_at is None
                                   or merged.last_contact_at > survivor.last_contact_at):
        plan.changes["last_contact_at"] = merged.last_contact_at
    return plan


def _pk(customer: Customer | int, role: str) -> int:
    pk = customer.pk if isinstance(customer, Customer) else customer
    try:
        return int(pk)
    except (TypeError, ValueError):
        raise ValidationError({role: _("Choose a customer.")}) from None


def _audit(customer: Customer, *, actor: Any, changes: dict[str, list[Any]],
           record: MergeRecord) -> None:
    LogEntry.objects.log_create(
        customer, force_log=True, action=LogEntry.Action.UPDATE, actor=actor,
        changes=_jsonable(changes),
        additional_data={"merge_record": record.pk, "survivor": record.survivor_id,
                         "merged": record.merged_id, "reason": record.reason})


def _display(attname: str, value: Any) -> Any:
    """A value as the audit entry and the merge record keep it: masked, related rows named."""
    if attname == "id_number":
        return mask_id_number(value)
    if attname == "primary_phone":
        return mask_phone(value)
    model_field = Customer._meta.get_field(attname)
    if model_field.is_relation and value is not None:
        related = model_field.related_model._default_manager.filter(pk=value).first()
        return str(related) if related is not None else value
    if model_field.choices and value not in (None, ""):
        return str(dict(model_field.flatchoices).get(value, value))
    return value


@transaction.atomic
def customer_merge(*, actor: Any, survivor: Customer | int, merged: Customer | int,
                   reason: str, field_choices: dict[str, str] | None = None,
                   expected_versions: dict[int, int] | None = None) -> MergeRecord:
    """Merge `merged` into `survivor`: one transaction, both rows locked in pk order.

    `field_choices` maps a field of `MERGEABLE_FIELDS`, "primary_phone" or a one-per-customer
    relation ("need") to "survivor" (default) or "merged". `expected_versions` ({pk: version})
    makes the merge fail with `VersionConflict` when either record changed since the steward
    compared them. Raises PermissionDenied (not a steward), Customer.DoesNotExist (either
    record outside the actor's scope), ValidationError (field errors) otherwise."""
    if not may_merge(actor):
        raise PermissionDenied(_("Only data stewards may merge customers."))
    survivor_id = _pk(survivor, "survivor")
    merged_id = _pk(merged, "merged")
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if survivor_id == merged_id:
        errors["merged"] = _("A customer cannot be merged into itself.")
    if not reason:
        errors["reason"] = _("Say why these two records are one person.")
    elif len(reason) > MergeRecord._meta.get_field("reason").max_length:
        errors["reason"] = _("Keep the reason under 200 characters.")
    if errors:
        raise ValidationError(errors)

    visible = set(Customer.objects.visible_to(actor)
                  .filter(pk__in=[survivor_id, merged_id]).values_list("pk", flat=True))
    if visible != {survivor_id, merged_id}:
        raise Customer.DoesNotExist(_("No such customer."))
    locked = {row.pk: row for row in Customer.objects.select_for_update()
              .filter(pk__in=[survivor_id, merged_id]).order_by("pk")}
    keep, gone = locked[survivor_id], locked[merged_id]
    for role, row in (("survivor", keep), ("merged", gone)):
        if row.merged_into_id:
            raise ValidationError({role: _("%(name)s was already merged into another record.")
                                   % {"name": row.name}})
    for pk, version in (expected_versions or {}).items():
        row = locked.get(int(pk))
        if row is not None and row.version != int(version):
            raise VersionConflict(current=row, attempted={}, expected_version=int(version))

    grouped = _links_by_model()
    links = [link for model_links in grouped.values() for link in model_links]
    choices = _clean_choices(field_choices, links)
    snapshot = _snapshot(gone, links, grouped)
    plan = _plan_fields(keep, gone, choices)

    if plan.take_id_number:  # the ID number is unique: it leaves the merged record first
        Customer.objects.filter(pk=gone.pk).update(id_number="", id_number_hash="")

    moved: dict[str, int] = {}
    for model, model_links in sorted(grouped.items(), key=lambda item: item[0]._meta.label):
        handler = merge_handlers.get(model)
        if handler is not None:
            count = handler(survivor=keep, merged=gone, actor=actor, field_choices=choices)
            if count:
                moved[model._meta.label] = count
            continue
        for link in model_links:
            count = move_rows(model, link.field_name, survivor=keep, merged=gone,
                              choice=choices.get(link.accessor))
            if count:
                moved[_moved_key(link, grouped)] = count

    # Columns kept in step with related rows.
    primary = CustomerPhone.objects.filter(customer=keep, is_primary=True).first()
    if primary is None:
        primary = CustomerPhone.objects.filter(customer=keep).order_by("id").first()
        if primary is not None:
            CustomerPhone.objects.filter(pk=primary.pk).update(is_primary=True)
    plan.changes["primary_phone"] = primary.e164 if primary else ""
    latest_consent = (ConsentRecord.objects.filter(customer=keep)
                      .order_by("-recorded_at", "-id").first())
    if latest_consent is not None:
        plan.changes["marketing_consent"] = latest_consent.granted
    plan.changes = {name: value for name, value in plan.changes.items()
                    if getattr(keep, name) != value}

    now = timezone.now()
    survivor_changes = {name: [_display(name, getattr(keep, name)), _display(name, value)]
                        for name, value in plan.changes.items() if name != "id_number_hash"}
    Customer.objects.filter(pk=keep.pk).update(**plan.changes, version=F("version") + 1,
                                               updated_at=now)
    Customer.objects.filter(pk=gone.pk).update(merged_into=keep.pk, version=F("version") + 1,
                                               updated_at=now)
    keep.refresh_from_db()
    gone.refresh_from_db()
    customer_terms_rebuild(customers=[keep])

    snapshot["survivor_changes"] = _jsonable(survivor_changes)
    record = MergeRecord.objects.create(survivor=keep, merged=gone, merged_snapshot=snapshot,
                                        moved=moved, reason=reason, merged_by=actor)
    _audit(keep, actor=actor, record=record, changes={
        **survivor_changes, "merged_from": ["", f"{gone.name} (#{gone.pk})"]})
    gone_changes: dict[str, list[Any]] = {"merged_into": ["", f"{keep.name} (#{keep.pk})"]}
    if plan.take_id_number:
        gone_changes["id_number"] = [mask_id_number(snapshot["customer"].get("id_number")), ""]
    _audit(gone, actor=actor, record=record, changes=gone_changes)

    owners = {gone.owner_id} - {None, getattr(actor, "pk", None)}
    if owners:
        url = reverse("customers:merge_record", kwargs={"pk": record.pk})
        title = _("%(merged)s was merged into %(survivor)s") % {"merged": gone.name,
                                                                "survivor": keep.name}
        recipients = list(get_user_model()._default_manager.filter(pk__in=owners))
        transaction.on_commit(lambda: notify(recipients=recipients, kind="customers.merged",
                                             title=title, body=reason, url=url))
    return record


# --- reading -----------------------------------------------------------------------------------

def customer_resolve_merged(pk: int) -> int | None:
    """The live record a (possibly merged-away) customer id now lives in; None when unknown.

    The 360° page of a merged-away id redirects to the id returned here."""
    seen: set[int] = set()
    current = Customer.objects.filter(pk=pk).values_list("pk", "merged_into_id").first()
    while current is not None and current[1] is not None and current[0] not in seen:
        seen.add(current[0])
        current = Customer.objects.filter(pk=current[1]).values_list("pk",
                                                                     "merged_into_id").first()
    return current[0] if current is not None else None


def merge_record_get(*, viewer: Any, pk: int) -> MergeRecord:
    """One merge record, for whoever may see its survivor (else MergeRecord.DoesNotExist)."""
    visible = Customer.objects.visible_to(viewer).values("pk")
    return (MergeRecord.objects.select_related("survivor", "merged", "merged_by")
            .filter(survivor__in=visible).get(pk=pk))


def merge_records_for(*, viewer: Any, customer: Customer) -> list[MergeRecord]:
    """The merges into this customer (for its 360° page), newest first."""
    if not Customer.objects.visible_to(viewer).filter(pk=customer.pk).exists():
        return []
    return list(MergeRecord.objects.select_related("merged", "merged_by")
                .filter(survivor=customer))


MOVED_LABELS = {
    "customers.Interaction": gettext_lazy("interactions"),
    "customers.CustomerPhone": gettext_lazy("phones"),
    "customers.CustomerTag": gettext_lazy("tags"),
    "customers.HouseholdMember": gettext_lazy("household members"),
    "customers.ConsentRecord": gettext_lazy("consent records"),
    "customers.CustomerNeed": gettext_lazy("needs"),
    "customers.Customer_interested_projects": gettext_lazy("projects of interest"),
    "customers.Customer": gettext_lazy("records merged earlier"),
}


def moved_label(key: str) -> str:
    """A readable name for a `MergeRecord.moved` key ("customers.Interaction",
    "customers.HouseholdMember.related_customer")."""
    if key in MOVED_LABELS:
        return str(MOVED_LABELS[key])
    parts = key.split(".")
    try:
        model = apps.get_model(parts[0], parts[1])
    except (LookupError, IndexError, ValueError):
        return key
    name = str(model._meta.verbose_name_plural)
    if len(parts) > 2:
        with contextlib.suppress(FieldDoesNotExist):
            name = f"{name} ({model._meta.get_field(parts[2]).verbose_name})"
    return name


def related_counts(customers: Iterable[Customer]) -> dict[int, dict[str, int]]:
    """{customer id: {moved key: rows}} for the compare page, in one query whatever the number
    of apps that hang rows on a customer: a grouped count per link, joined by UNION ALL."""
    ids = [customer.pk for customer in customers]
    grouped = _links_by_model()
    counts: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    skip = {CustomerSearchTerm, MergeRecord, DuplicateDismissal, DuplicateCandidate}
    keys: list[str] = []
    parts = []
    for model, model_links in grouped.items():
        if model in skip:
            continue
        for link in model_links:
            parts.append(link.model._base_manager.order_by()
                         .filter(**{f"{link.field_name}__in": ids})
                         .values(link.field_name)
                         .annotate(n=models.Count("pk"),
                                   link_index=models.Value(len(keys)))
                         .values_list(link.field_name, "n", "link_index").order_by())
            keys.append(_moved_key(link, grouped))
    if not parts:
        return counts
    for pk, n, index in parts[0].union(*parts[1:], all=True).order_by():
        counts[pk][keys[index]] = n
    return counts


@transaction.atomic
def duplicate_dismiss(*, actor: Any, first: Customer | int, second: Customer | int,
                      note: str = "") -> DuplicateDismissal:
    """A steward's "not the same person": the pair leaves the duplicate candidates."""
    if not may_merge(actor):
        raise PermissionDenied(_("Only data stewards may judge duplicates."))
    ids = sorted({_pk(first, "first"), _pk(second, "second")})
    if len(ids) != 2:
        raise ValidationError({"second": _("Choose two different customers.")})
    note = (note or "").strip()
    if len(note) > DuplicateDismissal._meta.get_field("note").max_length:
        raise ValidationError({"note": _("Keep the note under 200 characters.")})
    if Customer.objects.visible_to(actor).filter(pk__in=ids).count() != 2:
        raise Customer.DoesNotExist(_("No such customer."))
    dismissal, _created = DuplicateDismissal.objects.get_or_create(
        first_id=ids[0], second_id=ids[1], defaults={"note": note, "dismissed_by": actor})
    return dismissal
