"""Every non-trivial read of the ledger, always through `Customer.objects.visible_to(viewer)`.

The list is paged by keyset (a cursor of the last row's sort key), never by OFFSET, and
counts at most COUNT_CAP rows ("10,000+"), so a page costs the same at row 10 and row 1M."""

import base64
import datetime
import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, FilteredRelation, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from anju.accounts.models import Project, Team, User
from anju.core.audit import AuditEntry, audit_for_record
from anju.core.registry import Section, customer_sections

from .models import (
    TIER_IN_FORCE,
    ConsentRecord,
    Customer,
    CustomerNeed,
    CustomerTag,
    HouseholdMember,
    Interaction,
    SavedFilter,
    Stage,
    Tag,
    TagDimension,
    Tier,
)

PAGE_SIZE = 50
COUNT_CAP = 10_000
TIMELINE_PAGE = 20  # the 360° page's first page of interactions; older ones by keyset
SORTS = {
    # key: (fields to order by, descending?)
    "-id": ("id",),
    "name": ("name", "id"),
    "-name": ("name", "id"),
    "last_contact": ("last_contact_at", "id"),
    "-last_contact": ("last_contact_at", "id"),
}
FILTER_KEYS = ("tier", "stage", "tag", "owner", "project", "channel", "contact_before",
               "contact_after", "consent")


@dataclass
class CustomerPage:
    rows: list[Customer]
    next_cursor: str | None
    sort: str
    count: int | None = None  # capped at COUNT_CAP; None when not asked
    count_capped: bool = False
    filters: dict = field(default_factory=dict)
    # customer id → names of their tags, in dimension order then by name
    tag_names: dict[int, list[str]] = field(default_factory=dict)

    @property
    def count_label(self) -> str:
        if self.count is None:
            return ""
        return f"{COUNT_CAP:,}+" if self.count_capped else f"{self.count:,}"


def _encode_cursor(values: list[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime.datetime) else v
                      for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> list[Any] | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, TypeError):
        return None
    return values if isinstance(values, list) else None


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _as_datetime(value: Any, *, end_of_day: bool = False) -> datetime.datetime | None:
    if not value:
        return None
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, datetime.date):
        day = value
    else:
        parsed = parse_datetime(str(value))
        if parsed is not None:
            return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
        try:
            day = parse_date(str(value))
        except ValueError:
            return None
        if day is None:
            return None
    moment = datetime.datetime.combine(day, datetime.time.max if end_of_day else datetime.time.min)
    return timezone.make_aware(moment)


def customer_queryset(*, viewer: User, filters: dict | None = None) -> QuerySet[Customer]:
    """The scoped, filtered customers (unordered); live records only (not merged away).

    filters: tier, stage, tag (id), owner (user id), project (id), channel, contact_before /
    contact_after (dates), consent ("1"/"0")."""
    filters = filters or {}
    queryset = Customer.objects.visible_to(viewer).filter(merged_into__isnull=True)
    tier = filters.get("tier")
    if tier in Tier.values:
        # The very expression of `customer_tier_in_force_idx`, so the index serves it.
        queryset = queryset.alias(tier_in_force_sql=TIER_IN_FORCE).filter(
            tier_in_force_sql=tier)
    if filters.get("stage") in Stage.values:
        queryset = queryset.filter(stage=filters["stage"])
    tag_id = _as_int(filters.get("tag"))
    if tag_id:
        queryset = queryset.filter(Exists(CustomerTag.objects.filter(
            customer_id=OuterRef("pk"), tag_id=tag_id)))
    owner_id = _as_int(filters.get("owner"))
    if owner_id:
        queryset = queryset.filter(owner_id=owner_id)
    project_id = _as_int(filters.get("project"))
    if project_id:
        queryset = queryset.filter(project_id=project_id)
    if filters.get("channel"):
        queryset = queryset.filter(source_channel=str(filters["channel"]).strip())
    before = _as_datetime(filters.get("contact_before"))
    if before:
        queryset = queryset.filter(last_contact_at__lt=before)
    after = _as_datetime(filters.get("contact_after"))
    if after:
        queryset = queryset.filter(last_contact_at__gte=after)
    consent = filters.get("consent")
    if consent in ("1", "true", True):
        queryset = queryset.filter(marketing_consent=True)
    elif consent in ("0", "false", False):
        queryset = queryset.filter(marketing_consent=False)
    return queryset


def _order(queryset: QuerySet, sort: str) -> QuerySet:
    if sort == "name":
        return queryset.order_by("name", "id")
    if sort == "-name":
        return queryset.order_by("-name", "-id")
    if sort == "last_contact":
        return queryset.order_by("last_contact_at", "id")
    if sort == "-last_contact":
        # Nulls (never contacted) come last.
        return queryset.order_by("-last_contact_at", "-id")
    return queryset.order_by("-id")


def _after_cursor(queryset: QuerySet, sort: str, values: list[Any]) -> QuerySet:
    if sort == "-id":
        last_id = _as_int(values[0]) if values else None
        return queryset.filter(id__lt=last_id) if last_id else queryset
    if len(values) != 2 or _as_int(values[1]) is None:
        return queryset
    key, last_id = values[0], int(values[1])
    if sort in ("name", "-name"):
        if sort == "name":
            return queryset.filter(Q(name__gt=key) | Q(name=key, id__gt=last_id))
        return queryset.filter(Q(name__lt=key) | Q(name=key, id__lt=last_id))
    moment = _as_datetime(key) if key else None
    if sort == "last_contact":
        # NULLS: ascending order puts them last on PostgreSQL, first on SQLite; keep both
        # consistent by paging over nulls by id after the dated rows.
        if moment is None:
            return queryset.filter(last_contact_at__isnull=True, id__gt=last_id)
        return queryset.filter(Q(last_contact_at__gt=moment)
                               | Q(last_contact_at=moment, id__gt=last_id)
                               | Q(last_contact_at__isnull=True))
    if moment is None:
        return queryset.filter(last_contact_at__isnull=True, id__lt=last_id)
    return queryset.filter(Q(last_contact_at__lt=moment)
                           | Q(last_contact_at=moment, id__lt=last_id)
                           | Q(last_contact_at__isnull=True))


def _order_nulls_last(queryset: QuerySet, sort: str) -> QuerySet:
    from django.db.models import F

    if sort == "last_contact":
        return queryset.order_by(F("last_contact_at").asc(nulls_last=True), "id")
    if sort == "-last_contact":
        return queryset.order_by(F("last_contact_at").desc(nulls_last=True), "-id")
    return _order(queryset, sort)


def _cursor_for(row: Customer, sort: str) -> str:
    if sort == "-id":
        return _encode_cursor([row.pk])
    if sort in ("name", "-name"):
        return _encode_cursor([row.name, row.pk])
    return _encode_cursor([row.last_contact_at, row.pk])


# What the list page shows (and its cursor needs): the page loads only these columns, so no
# encrypted ID number is decrypted and no wide row is read per customer.
LIST_COLUMNS = ("id", "name", "primary_phone", "tier", "tier_override", "stage",
                "last_contact_at", "owner_id", "project_id", "owner__id", "owner__username",
                "owner__display_name", "project__id", "project__name")


def _given_filters(filters: dict | None) -> dict:
    """The list's filters that were given a value (unknown keys dropped)."""
    return {key: value for key, value in (filters or {}).items()
            if key in FILTER_KEYS and value not in (None, "")}


def customer_list(*, viewer: User, filters: dict | None = None, sort: str = "-id",
                  cursor: str | None = None, page_size: int = PAGE_SIZE,
                  with_count: bool = False, columns: tuple[str, ...] | None = None
                  ) -> CustomerPage:
    """One keyset page of the viewer's customers: owner, project and tag names fetched with
    the page in a fixed number of queries; `with_count` counts at most COUNT_CAP rows.
    `columns` (e.g. LIST_COLUMNS) limits the customer, owner and project columns loaded."""
    filters = _given_filters(filters)
    sort = sort if sort in SORTS else "-id"
    base = customer_queryset(viewer=viewer, filters=filters)
    queryset = base
    values = _decode_cursor(cursor) if cursor else None
    if values:
        queryset = _after_cursor(queryset, sort, values)
    queryset = _order_nulls_last(queryset, sort).select_related("owner", "project")
    if columns:
        queryset = queryset.only(*columns)
    rows = list(queryset[: page_size + 1])
    next_cursor = _cursor_for(rows[page_size - 1], sort) if len(rows) > page_size else None
    rows = rows[:page_size]
    tag_names: dict[int, list[str]] = {}
    if rows:
        # Names only, as tuples: a prefetch of link and tag objects cost ~3 ms a page.
        for customer_id, name in (CustomerTag.objects.filter(customer_id__in=[r.pk for r in rows])
                                  .order_by("tag__dimension__order", "tag__name")
                                  .values_list("customer_id", "tag__name")):
            tag_names.setdefault(customer_id, []).append(name)
    count = capped = None
    if with_count:
        count, capped = _capped_count(base)
    return CustomerPage(rows=rows, next_cursor=next_cursor, sort=sort, count=count,
                        count_capped=bool(capped), filters=filters, tag_names=tag_names)


def _capped_count(queryset: QuerySet[Customer]) -> tuple[int, bool]:
    count = queryset.order_by().values("pk")[: COUNT_CAP + 1].count()
    return min(count, COUNT_CAP), count > COUNT_CAP


def customer_list_count(*, viewer: User, filters: dict | None = None) -> CustomerPage:
    """The count of the filtered list alone (capped at COUNT_CAP), as an empty page whose
    `count_label` the page shows: the list page asks for it after its rows, so the rows do not
    wait for a count of up to 10,001 customers."""
    filters = _given_filters(filters)
    count, capped = _capped_count(customer_queryset(viewer=viewer, filters=filters))
    return CustomerPage(rows=[], next_cursor=None, sort="-id", count=count,
                        count_capped=capped, filters=filters)


def customer_export_rows(*, viewer: User, filters: dict | None = None, sort: str = "-id"):
    """Every customer of the filtered list (an iterator; owner and project joined)."""
    filters = {key: value for key, value in (filters or {}).items() if key in FILTER_KEYS}
    queryset = customer_queryset(viewer=viewer, filters=filters)
    return (_order_nulls_last(queryset, sort if sort in SORTS else "-id")
            .select_related("owner", "project").iterator(chunk_size=2000))


def customer_get(*, viewer: User, pk: Any, with_need: bool = False) -> Customer:
    """One live customer the viewer may see, else Http404; `with_need` joins the need."""
    related = ("owner", "project", "company", "tier_override_by", *(("need",) if with_need
                                                                   else ()))
    found = (Customer.objects.visible_to(viewer).select_related(*related)
             .filter(pk=_as_int(pk) or 0).first())
    if found is None:
        raise Http404
    return found


@dataclass
class Customer360:
    customer: Customer
    phones: list
    need: CustomerNeed | None
    tags: list[CustomerTag]
    household: list[HouseholdMember]
    consents: list[ConsentRecord]
    interactions: list[Interaction]
    timeline_next: str | None  # cursor of the older interactions, None when all are shown
    audit: list[AuditEntry]
    sections: list[Section]
    interested_projects: list


@dataclass
class TimelinePage:
    interactions: list[Interaction]
    next_cursor: str | None


def interaction_timeline(*, customer: Customer, cursor: str | None = None,
                         page_size: int = TIMELINE_PAGE) -> TimelinePage:
    """One page of a customer's interactions, most recent first, older than `cursor` (a page's
    `next_cursor`); one query. The caller has checked that the viewer sees the customer."""
    rows = customer.interactions.select_related("user", "project").order_by("-occurred_at",
                                                                             "-id")
    values = _decode_cursor(cursor) if cursor else None
    if values and len(values) == 2:
        moment, pk = _as_datetime(values[0]), _as_int(values[1])
        if moment is not None and pk is not None:
            rows = rows.filter(Q(occurred_at__lt=moment) | Q(occurred_at=moment, id__lt=pk))
    page = list(rows[:page_size + 1])
    next_cursor = (_encode_cursor([page[page_size - 1].occurred_at, page[page_size - 1].pk])
                   if len(page) > page_size else None)
    return TimelinePage(interactions=page[:page_size], next_cursor=next_cursor)


def customer_get_360(*, viewer: User, pk: Any, timeline_size: int = TIMELINE_PAGE
                     ) -> Customer360:
    """Everything the 360° page shows, in a constant number of queries whatever the number of
    interactions (the timeline's first page, most recent first; older ones page by page)."""
    customer = customer_get(viewer=viewer, pk=pk, with_need=True)
    if customer.merged_into_id:
        raise Http404
    try:
        need = customer.need
    except CustomerNeed.DoesNotExist:
        need = None
    phones = list(customer.phones.order_by("-is_primary", "id"))
    tags = list(customer.tag_links.select_related("tag__dimension")
                .order_by("tag__dimension__order", "tag__name"))
    household = list(customer.household.select_related("related_customer").order_by("id"))
    consents = list(customer.consents.select_related("recorded_by")[:10])
    timeline = interaction_timeline(customer=customer, page_size=timeline_size)
    interested = list(customer.interested_projects.all())
    try:
        audit = audit_for_record(viewer=viewer, obj=customer, limit=50)
    except PermissionDenied:
        audit = []
    # Sections of other apps load after the page (customer_section), each on its own request,
    # so the 360° page costs the same whatever apps are installed.
    sections = customer_sections.for_user(viewer)
    return Customer360(customer=customer, phones=phones, need=need, tags=tags,
                       household=household, consents=consents,
                       interactions=timeline.interactions, timeline_next=timeline.next_cursor,
                       audit=audit, sections=sections, interested_projects=interested)


def customer_section(*, viewer: User, pk: Any, key: str) -> tuple[Customer, Section, dict]:
    """One registered section of a live customer's 360° page with its context; Http404 when
    the customer is out of the viewer's scope or the section unknown or hidden from them."""
    if key not in customer_sections:
        raise Http404
    section = customer_sections.get(key)
    if not section.is_visible(viewer):
        raise Http404
    customer = customer_get(viewer=viewer, pk=pk)
    if customer.merged_into_id:
        raise Http404
    return customer, section, section.get_context(customer, viewer)


_DIMENSION_FIELDS = ("id", "code", "name", "allows_many", "order")
_TAG_FIELDS = ("id", "dimension_id", "name", "is_active")


def tag_choices() -> list[tuple[TagDimension, list[Tag]]]:
    """Active tags by name, grouped by dimension in their order, dimensions without an active
    tag included; one query (every list and 360° page asks for it)."""
    rows = (TagDimension.objects
            .alias(active=FilteredRelation("tags", condition=Q(tags__is_active=True)))
            .order_by("order", "id", "active__name")
            .values_list(*_DIMENSION_FIELDS, "active__id", "active__name", "active__is_active"))
    groups: dict[int, tuple[TagDimension, list[Tag]]] = {}
    for row in rows:
        dimension_id, tag_id = row[0], row[5]
        if dimension_id not in groups:
            groups[dimension_id] = (TagDimension.from_db(rows.db, _DIMENSION_FIELDS, row[:5]),
                                    [])
        if tag_id is not None:
            groups[dimension_id][1].append(Tag.from_db(rows.db, _TAG_FIELDS, (
                tag_id, dimension_id, row[6], row[7])))
    return list(groups.values())


def tag_choice_pairs() -> list[tuple[str, list[tuple[int, str]]]]:
    """Active tags as (dimension name, [(tag id, tag name), …]), read now (not cached)."""
    return [(str(dimension.name), [(tag.pk, tag.name) for tag in tags])
            for dimension, tags in tag_choices()]


@dataclass(frozen=True)
class ListChoices:
    """The options of the list's filters as plain pairs: tags grouped by dimension name,
    owners and projects as (id, label)."""

    tags: list[tuple[str, list[tuple[int, str]]]]
    owners: list[tuple[int, str]]
    projects: list[tuple[int, str]]


LIST_CHOICES_SECONDS = 60


def _scope_digest(viewer: User) -> str:
    """The viewer's data scope as a short, process-independent string (a cache-key part)."""
    scope = viewer.data_scope()
    # every field of the scope, so one added to DataScope later is part of the key too
    text = "|".join(",".join(map(str, sorted(value))) if isinstance(value, frozenset)
                    else str(value)
                    for value in (getattr(scope, item.name) for item in fields(scope)))
    return hashlib.blake2s(text.encode(), digest_size=8).hexdigest()


def list_filter_choices(*, viewer: User) -> ListChoices:
    """The filter options for this viewer, kept a minute: every list page and its count label
    shows them, they change rarely, and an option added a minute late costs nobody anything.
    The key holds the viewer's data scope, so a changed scope is never served stale options."""
    key = f"customers:list-choices:{viewer.pk}:{_scope_digest(viewer)}"
    choices = cache.get(key)
    if choices is None:
        choices = ListChoices(
            tags=tag_choice_pairs(),
            # only what an <option> shows: a user row is wide (password, names, flags)
            owners=[(user.pk, str(user)) for user in owner_choices(viewer=viewer)
                    .only("id", "username", "display_name")[:300]],
            projects=list(Project.objects.visible_to(viewer).order_by("name")
                          .values_list("id", "name")[:300]))
        cache.set(key, choices, LIST_CHOICES_SECONDS)
    return choices


def owner_choices(*, viewer: User) -> QuerySet[User]:
    """Consultants the viewer may filter by or assign to (users visible to them)."""
    return User.objects.visible_to(viewer).filter(is_active=True).order_by("username")


# --- follow-ups ---------------------------------------------------------------------------------
def _follow_ups() -> QuerySet[Interaction]:
    return (Interaction.objects.filter(follow_up_done_at__isnull=True,
                                       next_follow_up_at__isnull=False,
                                       customer__merged_into__isnull=True)
            .select_related("customer", "user"))


def follow_ups_due(*, user: User, today: datetime.date | None = None
                   ) -> dict[str, list[Interaction]]:
    """The consultant's open follow-ups: {"overdue": before today, "today": due today}."""
    today = today or timezone.localdate()
    start = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
    end = start + datetime.timedelta(days=1)
    rows = list(_follow_ups().filter(user=user, next_follow_up_at__lt=end)
                .filter(customer__in=Customer.objects.visible_to(user))
                .order_by("next_follow_up_at", "id")[:500])
    return {"overdue": [row for row in rows if row.next_follow_up_at < start],
            "today": [row for row in rows if row.next_follow_up_at >= start]}


def follow_ups_due_count(*, user: User, today: datetime.date | None = None) -> int:
    today = today or timezone.localdate()
    end = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min)) \
        + datetime.timedelta(days=1)
    return (Interaction.objects.filter(user=user, follow_up_done_at__isnull=True,
                                       next_follow_up_at__isnull=False,
                                       next_follow_up_at__lt=end).count())


def follow_ups_overdue_for_manager(*, manager: User, hours: int | None = None
                                   ) -> list[Interaction]:
    """Open follow-ups of the manager's team members overdue by more than `hours`."""
    from .services import escalate_hours

    hours = escalate_hours() if hours is None else hours
    limit = timezone.now() - datetime.timedelta(hours=hours)
    members = User.objects.filter(team__in=Team.objects.filter(leader=manager))
    return list(_follow_ups().filter(user__in=members, next_follow_up_at__lt=limit)
                .order_by("next_follow_up_at", "id")[:500])


def saved_filters(*, user: User) -> list[SavedFilter]:
    return list(SavedFilter.objects.filter(user=user).order_by("name"))
