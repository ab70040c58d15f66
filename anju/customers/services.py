"""Every write of the customer ledger: one function per business action, keyword-only
arguments, atomic, scope checked against the acting user. Pages and the API both call these.

What a write also keeps in step, in the same transaction: the phones' primary flag with
`Customer.primary_phone`, the search terms with the name (`indexing`), `marketing_consent`
with the consent history, `last_contact_at` and open follow-ups with the interaction log."""

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.accounts.models import Company, Project, User
from anju.core.crypto import lookup_hash
from anju.core.locking import VersionConflict, update_versioned
from anju.core.normalise import (
    id_number_birth_date,
    normalise_id_number,
    normalise_phone,
    phone_last4,
)
from anju.core.normalise.id_number import id_number_is_male

from .dedup import existing_customer_for
from .indexing import customer_terms_rebuild
from .models import (
    ConsentRecord,
    Customer,
    CustomerNeed,
    CustomerPhone,
    CustomerTag,
    Gender,
    HouseholdMember,
    Interaction,
    SavedFilter,
    Stage,
    Tag,
    Tier,
    TierRule,
)

__all__ = [
    "DuplicateCustomer",
    "VersionConflict",
    "customer_consent_grant",
    "customer_consent_withdraw",
    "customer_create",
    "customer_need_set",
    "customer_phone_add",
    "customer_phone_remove",
    "customer_phone_set_primary",
    "customer_stage_set",
    "customer_tags_set",
    "customer_tier_override",
    "customer_tier_recompute",
    "customer_update",
    "customers_tier_recompute",
    "follow_up_done",
    "household_member_add",
    "household_member_remove",
    "interaction_log",
    "saved_filter_delete",
    "saved_filter_save",
]

MIN_BIRTHDAY = datetime.date(1900, 1, 1)
CONSENT_WORDING_VERSION = "2026-01"


class DuplicateCustomer(ValidationError):
    """The person is already in the ledger: `existing` is that record (maybe out of the
    actor's scope — callers decide what to show of it)."""

    def __init__(self, *, existing: Customer, field: str = "phones") -> None:
        self.existing = existing
        super().__init__({field: [ValidationError(
            _("This person is already in the ledger."), code="duplicate")]})


# --- helpers --------------------------------------------------------------------------------
def _require_authenticated(actor: Any) -> None:
    if not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", True):
        raise PermissionDenied(_("You are not allowed to do this."))


def _visible_customer(actor: User, customer: Customer | int, *, lock: bool = False) -> Customer:
    """The customer, fetched through the actor's scope (PermissionDenied when out of it)."""
    _require_authenticated(actor)
    pk = customer.pk if isinstance(customer, Customer) else customer
    queryset = Customer.objects.visible_to(actor).filter(merged_into__isnull=True)
    if lock:
        queryset = queryset.select_for_update()
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise PermissionDenied(_("You may not change this customer."))
    return found


def _is_manager(actor: User) -> bool:
    """Managers: those who may approve exports (sales/service managers, admins), or lead a team."""
    return actor.may("approve_exports") or actor.is_team_leader


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Enter the customer's name.")})
    limit = Customer._meta.get_field("name").max_length
    if len(name) > limit:
        raise ValidationError({"name": _("A name has at most %(limit)d characters.")
                               % {"limit": limit}})
    return name


def _clean_phones(phones: Iterable[str], *, required: bool = True) -> list[str]:
    values: list[str] = []
    errors: list[str] = []
    raw_list = [raw for raw in phones if (raw or "").strip()]
    for index, raw in enumerate(raw_list, start=1):
        try:
            value = normalise_phone(raw)
        except ValidationError as error:
            prefix = _("Phone %(index)d: ") % {"index": index} if len(raw_list) > 1 else ""
            errors.extend(prefix + message for message in error.messages)
            continue
        if len(value) > CustomerPhone._meta.get_field("e164").max_length:
            errors.append(_("This phone number is too long."))
        elif value not in values:
            values.append(value)
    if errors:
        raise ValidationError({"phones": errors})
    if required and not values:
        raise ValidationError({"phones": _("Enter at least one phone number.")})
    return values


def _clean_id_number(raw: str) -> str:
    if not (raw or "").strip():
        return ""
    try:
        return normalise_id_number(raw)
    except ValidationError as error:
        raise ValidationError({"id_number": error.messages}) from None


def _clean_birthday(birthday: datetime.date | None) -> datetime.date | None:
    if birthday is None:
        return None
    if not isinstance(birthday, datetime.date):
        raise ValidationError({"birthday": _("Enter a valid date.")})
    if birthday > timezone.localdate():
        raise ValidationError({"birthday": _("The birthday cannot be in the future.")})
    if birthday < MIN_BIRTHDAY:
        raise ValidationError({"birthday": _("This birthday is impossible.")})
    return birthday


def _check_lengths(values: dict[str, Any]) -> None:
    errors = {}
    for name, value in values.items():
        field = Customer._meta.get_field(name)
        limit = getattr(field, "max_length", None)
        if limit and isinstance(value, str) and len(value) > limit:
            errors[name] = _("At most %(limit)d characters.") % {"limit": limit}
        choices = getattr(field, "choices", None)
        if choices and value not in {choice for choice, _label in field.flatchoices}:
            errors[name] = _("Select a valid choice.")
    if errors:
        raise ValidationError(errors)


def _check_project(actor: User, project: Project | None, company: Company | None
                   ) -> tuple[Project | None, Company]:
    if project is not None:
        if not Project.objects.visible_to(actor).filter(pk=project.pk).exists():
            raise ValidationError({"project": _("You can only choose projects you can see.")})
        if company is not None and company.pk != project.company_id:
            raise ValidationError({"project": _("This project belongs to another company.")})
        company = project.company
    if company is None:
        raise ValidationError({"project": _("Choose the customer's project.")})
    if not Company.objects.visible_to(actor).filter(pk=company.pk).exists():
        raise ValidationError({"project": _("You can only choose projects you can see.")})
    return project, company


def _sync_primary(customer: Customer) -> None:
    primary = (CustomerPhone.objects.filter(customer=customer, is_primary=True)
               .values_list("e164", flat=True).first()) or ""
    if customer.primary_phone != primary:
        Customer.objects.filter(pk=customer.pk).update(primary_phone=primary)
        customer.primary_phone = primary


# --- create and update ----------------------------------------------------------------------
@transaction.atomic
def customer_create(*, actor: User, company: Company | None = None, name: str,
                    phones: list[str], id_number: str = "", gender: str = "",
                    birthday: datetime.date | None = None, project: Project | None = None,
                    owner: User | None = None, source_channel: str = "", occupation: str = "",
                    income_band: str = "", address: str = "", stage: str = Stage.POTENTIAL,
                    interested_projects: Iterable[Project] = ()) -> Customer:
    """A new person in the ledger. Phones are normalised (the first is primary), the ID number
    validated; raises `DuplicateCustomer` when a phone or the ID number is already known."""
    _require_authenticated(actor)
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for key, check in (("name", lambda: _clean_name(name)),
                       ("phones", lambda: _clean_phones(phones)),
                       ("id_number", lambda: _clean_id_number(id_number)),
                       ("birthday", lambda: _clean_birthday(birthday))):
        try:
            cleaned[key] = check()
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    extra = {"gender": gender or "", "source_channel": (source_channel or "").strip(),
             "occupation": (occupation or "").strip(), "income_band": income_band or "",
             "address": (address or "").strip(), "stage": stage}
    try:
        _check_lengths(extra)
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    project, company = _check_project(actor, project, company)

    id_value = cleaned["id_number"]
    id_hash = lookup_hash(id_value) if id_value else ""
    existing = existing_customer_for(phones=cleaned["phones"], id_number_hash=id_hash)
    if existing is not None:
        field = "id_number" if id_hash and existing.id_number_hash == id_hash else "phones"
        raise DuplicateCustomer(existing=existing, field=field)

    if id_value:
        cleaned["birthday"] = cleaned["birthday"] or id_number_birth_date(id_value)
        extra["gender"] = extra["gender"] or (
            Gender.MALE if id_number_is_male(id_value) else Gender.FEMALE)
    owner = owner if owner is not None else actor
    try:
        with transaction.atomic():
            customer = Customer.objects.create(
                company=company, project=project, owner=owner, name=cleaned["name"],
                birthday=cleaned["birthday"], id_number=id_value,
                primary_phone=cleaned["phones"][0], **extra)
            CustomerPhone.objects.bulk_create([
                CustomerPhone(customer=customer, e164=e164, last4=phone_last4(e164),
                              is_primary=index == 0)
                for index, e164 in enumerate(cleaned["phones"])])
    except IntegrityError:
        # Someone wrote the same person a moment ago: offer theirs.
        existing = existing_customer_for(phones=cleaned["phones"], id_number_hash=id_hash)
        if existing is None:
            raise
        raise DuplicateCustomer(existing=existing) from None
    interested = list(interested_projects)
    if interested:
        customer.interested_projects.set(interested)
    customer_terms_rebuild(customers=[customer])
    if not Customer.objects.visible_to(actor).filter(pk=customer.pk).exists():
        raise ValidationError({"owner": _("You would not be able to see this customer: "
                                          "choose yourself or a consultant of your team.")})
    customer_tier_recompute(customer=customer)
    return customer


UPDATABLE = ("name", "gender", "birthday", "id_number", "occupation", "income_band", "address",
             "source_channel", "project", "owner", "stage")


@transaction.atomic
def customer_update(*, actor: User, customer: Customer | int, expected_version: int,
                    **changes: Any) -> Customer:
    """Changes identity fields (see UPDATABLE); raises `VersionConflict` when someone saved
    first. The ID number is re-validated and re-hashed; the name's search terms rebuilt."""
    current = _visible_customer(actor, customer)
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise TypeError(f"customer_update does not change {sorted(unknown)}")
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}

    def collect(check):
        try:
            return check()
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors.setdefault(field, []).extend(messages)
            return None

    if "name" in changes:
        values["name"] = collect(lambda: _clean_name(changes["name"]))
    if "birthday" in changes:
        values["birthday"] = collect(lambda: _clean_birthday(changes["birthday"]))
    if "id_number" in changes:
        id_value = collect(lambda: _clean_id_number(changes["id_number"]))
        if id_value is not None:
            values["id_number"] = id_value
            values["id_number_hash"] = lookup_hash(id_value) if id_value else ""
            if id_value and id_value != current.id_number:
                other = existing_customer_for(id_number_hash=values["id_number_hash"])
                if other is not None and other.pk != current.pk:
                    raise DuplicateCustomer(existing=other, field="id_number")
    for name in ("gender", "occupation", "income_band", "address", "source_channel", "stage"):
        if name in changes:
            values[name] = (changes[name] or "").strip() if name in (
                "occupation", "address", "source_channel") else (changes[name] or "")
    collect(lambda: _check_lengths({k: v for k, v in values.items()
                                    if k in ("gender", "occupation", "income_band", "address",
                                             "source_channel", "stage")}))
    if "stage" in values and not values["stage"]:
        errors.setdefault("stage", []).append(_("Select a valid choice."))
    if "project" in changes:
        project = changes["project"]
        if project is None:
            values["project"] = None
        else:
            collect(lambda: _check_project(actor, project, current.company))
            values["project"] = project
    if "owner" in changes:
        values["owner"] = changes["owner"]
    if errors:
        raise ValidationError(errors)
    updated = update_versioned(Customer, pk=current.pk, expected_version=expected_version,
                               changes=values)
    if updated.name != current.name or updated.owner_id != current.owner_id:
        customer_terms_rebuild(customers=[updated])
    if not Customer.objects.visible_to(actor).filter(pk=updated.pk).exists():
        raise ValidationError({"owner": _("You would not be able to see this customer: "
                                          "choose yourself or a consultant of your team.")})
    return updated


@transaction.atomic
def customer_stage_set(*, actor: User, customer: Customer | int, stage: str) -> Customer:
    current = _visible_customer(actor, customer, lock=True)
    if stage not in Stage.values:
        raise ValidationError({"stage": _("Select a valid choice.")})
    if current.stage != stage:
        return update_versioned(Customer, pk=current.pk, expected_version=current.version,
                                changes={"stage": stage})
    return current


# --- phones ---------------------------------------------------------------------------------
@transaction.atomic
def customer_phone_add(*, actor: User, customer: Customer | int, phone: str, label: str = "",
                       make_primary: bool = False) -> CustomerPhone:
    current = _visible_customer(actor, customer, lock=True)
    e164 = _clean_phones([phone])[0]
    holder = existing_customer_for(phones=[e164])
    if holder is not None:
        if holder.pk == current.pk:
            raise ValidationError({"phones": _("This customer already has this number.")})
        raise DuplicateCustomer(existing=holder)
    has_primary = current.phones.filter(is_primary=True).exists()
    if make_primary and has_primary:
        current.phones.filter(is_primary=True).update(is_primary=False)
    try:
        with transaction.atomic():
            phone_row = CustomerPhone.objects.create(
                customer=current, e164=e164, last4=phone_last4(e164), label=(label or "")[:20],
                is_primary=make_primary or not has_primary)
    except IntegrityError:
        raise ValidationError({"phones": _("This number belongs to another customer.")}) from None
    _sync_primary(current)
    return phone_row


@transaction.atomic
def customer_phone_remove(*, actor: User, customer: Customer | int, phone_id: int) -> None:
    """Removes a number; the oldest remaining one becomes primary. The last one stays."""
    current = _visible_customer(actor, customer, lock=True)
    phone_row = current.phones.filter(pk=phone_id).first()
    if phone_row is None:
        raise ValidationError({"phones": _("No such phone number.")})
    if current.phones.count() == 1:
        raise ValidationError({"phones": _("A customer keeps at least one phone number.")})
    phone_row.delete()
    if phone_row.is_primary:
        successor = current.phones.order_by("id").first()
        successor.is_primary = True
        successor.save(update_fields=["is_primary", "updated_at"])
    _sync_primary(current)


@transaction.atomic
def customer_phone_set_primary(*, actor: User, customer: Customer | int,
                               phone_id: int) -> CustomerPhone:
    current = _visible_customer(actor, customer, lock=True)
    phone_row = current.phones.filter(pk=phone_id).first()
    if phone_row is None:
        raise ValidationError({"phones": _("No such phone number.")})
    current.phones.exclude(pk=phone_id).filter(is_primary=True).update(is_primary=False)
    if not phone_row.is_primary:
        phone_row.is_primary = True
        phone_row.save(update_fields=["is_primary", "updated_at"])
    _sync_primary(current)
    return phone_row


# --- tags, needs, household, consent --------------------------------------------------------
@transaction.atomic
def customer_tags_set(*, actor: User, customer: Customer | int,
                      tags: Iterable[Tag | int]) -> list[Tag]:
    """The customer's tags become exactly these (inactive tags already on it may stay)."""
    current = _visible_customer(actor, customer, lock=True)
    wanted_ids = {tag.pk if isinstance(tag, Tag) else int(tag) for tag in tags}
    existing_ids = set(current.tag_links.values_list("tag_id", flat=True))
    chosen = list(Tag.objects.filter(pk__in=wanted_ids).select_related("dimension"))
    if len(chosen) != len(wanted_ids):
        raise ValidationError({"tags": _("Unknown tag.")})
    new_inactive = [tag for tag in chosen if not tag.is_active and tag.pk not in existing_ids]
    if new_inactive:
        raise ValidationError({"tags": _("The tag “%(name)s” is no longer in use.")
                               % {"name": new_inactive[0].name}})
    per_dimension: dict[int, list[Tag]] = {}
    for tag in chosen:
        per_dimension.setdefault(tag.dimension_id, []).append(tag)
    for dimension_tags in per_dimension.values():
        dimension = dimension_tags[0].dimension
        if not dimension.allows_many and len(dimension_tags) > 1:
            raise ValidationError({"tags": _("Choose one tag only for “%(dimension)s”.")
                                   % {"dimension": dimension.name}})
    current.tag_links.exclude(tag_id__in=wanted_ids).delete()
    CustomerTag.objects.bulk_create([
        CustomerTag(customer=current, tag_id=tag_id, added_by=actor)
        for tag_id in sorted(wanted_ids - existing_ids)])
    return chosen


NEED_FIELDS = ("budget_min_wan", "budget_max_wan", "area_min", "area_max", "rooms",
               "unit_types", "districts", "purpose", "notes")


@transaction.atomic
def customer_need_set(*, actor: User, customer: Customer | int, **values: Any) -> CustomerNeed:
    """Sets the customer's needs (budget in 万元, area in m², unit types, districts, purpose)."""
    current = _visible_customer(actor, customer)
    unknown = set(values) - set(NEED_FIELDS)
    if unknown:
        raise TypeError(f"customer_need_set does not set {sorted(unknown)}")
    errors = {}
    for low, high in (("budget_min_wan", "budget_max_wan"), ("area_min", "area_max")):
        lo, hi = values.get(low), values.get(high)
        for name, value in ((low, lo), (high, hi)):
            if value is not None and Decimal(value) < 0:
                errors[name] = _("Enter a number of zero or more.")
        if lo is not None and hi is not None and Decimal(lo) > Decimal(hi) and high not in errors:
            errors[high] = _("The upper bound is below the lower bound.")
    if values.get("purpose") and values["purpose"] not in CustomerNeed.Purpose.values:
        errors["purpose"] = _("Select a valid choice.")
    if errors:
        raise ValidationError(errors)
    need, _created = CustomerNeed.objects.get_or_create(customer=current)
    for name, value in values.items():
        if name in ("rooms", "unit_types", "districts"):
            value = [str(item).strip() for item in (value or []) if str(item).strip()]
        setattr(need, name, value if value is not None or name not in ("purpose", "notes")
                else "")
    need.full_clean(exclude=["customer"])
    need.save()
    return need


@transaction.atomic
def household_member_add(*, actor: User, customer: Customer | int, relation: str,
                         name: str = "", related_customer: Customer | None = None,
                         note: str = "") -> HouseholdMember:
    current = _visible_customer(actor, customer)
    if relation not in HouseholdMember.Relation.values:
        raise ValidationError({"relation": _("Select a valid choice.")})
    name = " ".join((name or "").split())
    if related_customer is not None:
        related_customer = _visible_customer(actor, related_customer)
        if related_customer.pk == current.pk:
            raise ValidationError({"related_customer": _("A customer cannot be their own "
                                                         "relative.")})
        name = name or related_customer.name
    if not name:
        raise ValidationError({"name": _("Enter the relative's name or choose a customer.")})
    member = HouseholdMember(customer=current, relation=relation, name=name[:50],
                             related_customer=related_customer, note=(note or "")[:200])
    member.save()
    return member


@transaction.atomic
def household_member_remove(*, actor: User, customer: Customer | int, member_id: int) -> None:
    current = _visible_customer(actor, customer)
    deleted, _rows = current.household.filter(pk=member_id).delete()
    if not deleted:
        raise ValidationError({"household": _("No such household member.")})


def _consent_record(actor: User, customer: Customer | int, *, granted: bool,
                    wording_version: str, source: str) -> ConsentRecord:
    current = _visible_customer(actor, customer, lock=True)
    record = ConsentRecord.objects.create(
        customer=current, granted=granted, wording_version=(wording_version or
                                                            CONSENT_WORDING_VERSION)[:32],
        source=(source or "")[:64], recorded_by=actor)
    if current.marketing_consent != granted:
        update_versioned(Customer, pk=current.pk, expected_version=current.version,
                         changes={"marketing_consent": granted})
    return record


@transaction.atomic
def customer_consent_grant(*, actor: User, customer: Customer | int,
                           wording_version: str = CONSENT_WORDING_VERSION,
                           source: str = "") -> ConsentRecord:
    """Records consent to marketing (PIPL) with the wording the person agreed to."""
    return _consent_record(actor, customer, granted=True, wording_version=wording_version,
                           source=source)


@transaction.atomic
def customer_consent_withdraw(*, actor: User, customer: Customer | int,
                              wording_version: str = CONSENT_WORDING_VERSION,
                              source: str = "") -> ConsentRecord:
    return _consent_record(actor, customer, granted=False, wording_version=wording_version,
                           source=source)


# --- tier -------------------------------------------------------------------------------------
def _money_wan(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:.2f}"


def tier_for(*, value_wan: Decimal, interactions_by_days: dict[int, int],
             rules: list[TierRule]) -> tuple[str, str]:
    """(tier, reason) by the first rule whose thresholds are met; ordinary... potential when
    none is."""
    for rule in rules:
        count = interactions_by_days.get(rule.within_days, 0)
        if value_wan >= rule.min_value_wan and count >= rule.min_interactions:
            parts = []
            if rule.min_value_wan:
                parts.append(_("value %(value)s 万元 ≥ %(min)s 万元") % {
                    "value": _money_wan(value_wan), "min": _money_wan(rule.min_value_wan)})
            if rule.min_interactions:
                parts.append(_("%(count)d interactions in %(days)d days (≥ %(min)d)") % {
                    "count": count, "days": rule.within_days, "min": rule.min_interactions})
            label = Tier(rule.tier).label
            reason = f"{label}: " + (", ".join(parts) if parts else _("default rule"))
            return rule.tier, reason[:200]
    return Tier.POTENTIAL, _("No tier rule matched.")


def customer_tier_recompute(*, customer: Customer | int) -> Customer:
    """Recomputes the tier from the active TierRule rows (value, interactions within days)
    and writes tier and tier_reason when they changed. A system action (no actor, no scope):
    tasks and the other services call it."""
    pk = customer.pk if isinstance(customer, Customer) else customer
    current = Customer.objects.get(pk=pk)
    _tiers_write([current])
    return current


def customers_tier_recompute(*, customers: Iterable[int]) -> None:
    """`customer_tier_recompute` for many customers at once (a batch of contacts): a query
    for the rules, one for the customers, one for their interactions, and one UPDATE per
    tier and reason that changed."""
    ids = sorted(set(customers))
    if ids:
        _tiers_write(list(Customer.objects.filter(pk__in=ids)
                          .only("pk", "lifetime_value_wan", "tier", "tier_reason")))


def _tiers_write(customers: list[Customer]) -> None:
    rules = list(TierRule.objects.filter(is_active=True).order_by("order", "id"))
    now = timezone.now()
    windows = sorted({rule.within_days for rule in rules})
    counts: dict[int, dict[int, int]] = {}
    if windows:
        for row in (Interaction.objects.filter(customer_id__in=[c.pk for c in customers])
                    .values("customer_id").annotate(**{
                        f"d{days}": Count("id", filter=Q(
                            occurred_at__gte=now - datetime.timedelta(days=days)))
                        for days in windows})):
            counts[row["customer_id"]] = {days: row[f"d{days}"] or 0 for days in windows}
    changed: dict[tuple[str, str], list[int]] = {}
    for current in customers:
        tier, reason = tier_for(value_wan=current.lifetime_value_wan,
                                interactions_by_days=counts.get(current.pk, {}), rules=rules)
        if (current.tier, current.tier_reason) != (tier, reason):
            changed.setdefault((tier, reason), []).append(current.pk)
            current.tier, current.tier_reason = tier, reason
    for (tier, reason), pks in changed.items():
        Customer.objects.filter(pk__in=pks).update(tier=tier, tier_reason=reason)


@transaction.atomic
def customer_tier_override(*, actor: User, customer: Customer | int, tier: str,
                           reason: str) -> Customer:
    """Sets the tier by hand (managers only), recording who and why; `tier=""` clears it."""
    current = _visible_customer(actor, customer, lock=True)
    if not _is_manager(actor):
        raise PermissionDenied(_("Only managers may set a tier by hand."))
    reason = " ".join((reason or "").split())
    if tier and tier not in Tier.values:
        raise ValidationError({"tier": _("Select a valid choice.")})
    if tier and not reason:
        raise ValidationError({"reason": _("Say why the tier is set by hand.")})
    if len(reason) > 200:
        raise ValidationError({"reason": _("At most %(limit)d characters.") % {"limit": 200}})
    changes = {"tier_override": tier or "", "tier_override_reason": reason,
               "tier_override_by": actor if tier else None,
               "tier_override_at": timezone.now() if tier else None}
    if not tier:
        changes["tier_override_reason"] = ""
    return update_versioned(Customer, pk=current.pk, expected_version=current.version,
                            changes=changes)


# --- interactions and follow-ups -------------------------------------------------------------
@transaction.atomic
def interaction_log(*, actor: User, customer: Customer | int, kind: str,
                    occurred_at: datetime.datetime | None = None, outcome: str = "",
                    notes: str = "", next_follow_up_at: datetime.datetime | None = None,
                    project: Project | None = None) -> Interaction:
    """Logs a call, visit, message...; moves `last_contact_at` forward, closes the actor's
    earlier open follow-ups of this customer, and recomputes the tier."""
    current = _visible_customer(actor, customer, lock=True)
    now = timezone.now()
    occurred_at = occurred_at or now
    errors = {}
    if kind not in Interaction.Kind.values:
        errors["kind"] = _("Select a valid choice.")
    if occurred_at > now + datetime.timedelta(minutes=5):
        errors["occurred_at"] = _("An interaction cannot be in the future.")
    if next_follow_up_at is not None and next_follow_up_at < occurred_at:
        errors["next_follow_up_at"] = _("The next follow-up must come after the interaction.")
    if len(outcome or "") > 200:
        errors["outcome"] = _("At most %(limit)d characters.") % {"limit": 200}
    if project is not None and not Project.objects.visible_to(actor).filter(
            pk=project.pk).exists():
        errors["project"] = _("You can only choose projects you can see.")
    if errors:
        raise ValidationError(errors)
    from .contacts import Contact, contacts_log  # contacts builds on this module

    [interaction] = contacts_log([Contact(
        customer_id=current.pk, kind=kind, notes=notes or "", user_id=actor.pk,
        project_id=project.pk if project else current.project_id,
        outcome=(outcome or "").strip(), next_follow_up_at=next_follow_up_at)],
        at=occurred_at)
    return interaction


@transaction.atomic
def follow_up_done(*, actor: User, interaction: Interaction | int) -> Interaction:
    pk = interaction.pk if isinstance(interaction, Interaction) else interaction
    found = (Interaction.objects.select_for_update()
             .filter(pk=pk, customer__in=Customer.objects.visible_to(actor)).first())
    if found is None:
        raise PermissionDenied(_("You may not change this follow-up."))
    if found.next_follow_up_at is None:
        raise ValidationError({"next_follow_up_at": _("This interaction has no follow-up.")})
    if found.follow_up_done_at is None:
        found.follow_up_done_at = timezone.now()
        found.save(update_fields=["follow_up_done_at"])
    return found


# --- saved filters ------------------------------------------------------------------------------
@transaction.atomic
def saved_filter_save(*, actor: User, name: str, query: str) -> SavedFilter:
    """Saves (or replaces, by name) the current list querystring for this user."""
    _require_authenticated(actor)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the filter a name.")})
    if len(name) > 50:
        raise ValidationError({"name": _("At most %(limit)d characters.") % {"limit": 50}})
    query = (query or "").lstrip("?")
    if len(query) > 1000:
        raise ValidationError({"query": _("These filters are too long to save.")})
    saved, _created = SavedFilter.objects.update_or_create(user=actor, name=name,
                                                           defaults={"query": query})
    return saved


@transaction.atomic
def saved_filter_delete(*, actor: User, saved_filter_id: int) -> None:
    deleted, _rows = SavedFilter.objects.filter(user=actor, pk=saved_filter_id).delete()
    if not deleted:
        raise ValidationError({"saved_filter": _("No such saved filter.")})


def escalate_hours() -> int:
    return int(getattr(settings, "ANJU_FOLLOW_UP_ESCALATE_HOURS", 24))


# --- reminders (run by tasks.py every 15 minutes) -------------------------------------------------
REMINDER_BATCH = 500


def _claim(ids: list[int], field: str, now: datetime.datetime) -> list[int]:
    """Marks rows whose `field` is still empty; returns those this run claimed (a second
    scheduler running at the same moment claims none of them twice)."""
    claimed = []
    for pk in ids:
        if Interaction.objects.filter(pk=pk, **{f"{field}__isnull": True}).update(**{field: now}):
            claimed.append(pk)
    return claimed


@transaction.atomic
def follow_up_reminders_send(*, now: datetime.datetime | None = None) -> int:
    """Due follow-ups reach their consultant's inbox, once each (`reminded_at`)."""
    from django.urls import reverse

    from anju.core.notifications.services import notify

    now = now or timezone.now()
    ids = list(Interaction.objects.filter(
        follow_up_done_at__isnull=True, next_follow_up_at__isnull=False,
        next_follow_up_at__lte=now, reminded_at__isnull=True, user__isnull=False,
    ).order_by("next_follow_up_at").values_list("pk", flat=True)[:REMINDER_BATCH])
    claimed = _claim(ids, "reminded_at", now)
    for interaction in (Interaction.objects.filter(pk__in=claimed)
                        .select_related("customer", "user")):
        notify(recipients=[interaction.user], kind="customers.follow_up_due",
               title=_("Follow up with %(name)s") % {"name": interaction.customer.name},
               body=_("Planned for %(when)s after: %(outcome)s") % {
                   "when": timezone.localtime(interaction.next_follow_up_at)
                   .strftime("%Y-%m-%d %H:%M"),
                   "outcome": interaction.outcome or interaction.get_kind_display()},
               url=reverse("customers:detail", args=[interaction.customer_id]))
    return len(claimed)


@transaction.atomic
def follow_ups_escalate(*, now: datetime.datetime | None = None,
                        hours: int | None = None) -> int:
    """Follow-ups overdue by more than `hours` (ANJU_FOLLOW_UP_ESCALATE_HOURS) are flagged
    once (`escalated_at`) to the team leader of the consultant who promised them."""
    from django.urls import reverse

    from anju.core.notifications.services import notify

    now = now or timezone.now()
    hours = escalate_hours() if hours is None else hours
    ids = list(Interaction.objects.filter(
        follow_up_done_at__isnull=True, next_follow_up_at__isnull=False,
        next_follow_up_at__lt=now - datetime.timedelta(hours=hours),
        escalated_at__isnull=True, user__team__leader__isnull=False,
    ).order_by("next_follow_up_at").values_list("pk", flat=True)[:REMINDER_BATCH])
    claimed = _claim(ids, "escalated_at", now)
    for interaction in (Interaction.objects.filter(pk__in=claimed)
                        .select_related("customer", "user__team__leader")):
        leader = interaction.user.team.leader
        if leader.pk == interaction.user_id:
            continue
        notify(recipients=[leader], kind="customers.follow_up_overdue", level="warning",
               title=_("%(user)s has not followed up with %(name)s") % {
                   "user": interaction.user, "name": interaction.customer.name},
               body=_("Due %(when)s, more than %(hours)d hours ago.") % {
                   "when": timezone.localtime(interaction.next_follow_up_at)
                   .strftime("%Y-%m-%d %H:%M"), "hours": hours},
               url=reverse("customers:today"))
    return len(claimed)
