"""Every non-trivial read of deals, always from `visible_to(viewer)`."""

import datetime
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from anju.customers.models import Customer
from anju.property.models import Unit
from anju.sales.models.deals import (
    LIVE_STATUSES,
    Deal,
    DealChangeRequest,
    DealEvent,
    DealStatus,
    Instalment,
    Payment,
)

PAGE_SIZE = 50
FILTER_KEYS = ("status", "project", "q", "overdue")


def deals_visible(*, viewer) -> QuerySet[Deal]:
    return Deal.objects.visible_to(viewer)


@dataclass
class DealPage:
    rows: list[Deal]
    next_cursor: int | None


def deal_list(*, viewer, filters: dict | None = None, cursor: int | None = None,
              size: int = PAGE_SIZE) -> DealPage:
    """A page of the viewer's deals, newest first (keyset by id)."""
    filters = filters or {}
    qs = (deals_visible(viewer=viewer)
          .select_related("unit__building", "project", "customer", "consultant"))
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("project"):
        qs = qs.filter(project_id=filters["project"])
    if filters.get("q"):
        term = filters["q"].strip()
        qs = qs.filter(Q(unit__label__icontains=term) | Q(customer__name__icontains=term)
                       | Q(contract_number__icontains=term))
    if filters.get("overdue"):
        qs = qs.filter(pk__in=Instalment.objects.filter(
            paid_at__isnull=True, due_date__lt=timezone.localdate()).values("deal_id"))
    if cursor:
        qs = qs.filter(pk__lt=cursor)
    rows = list(qs.order_by("-id")[: size + 1])
    next_cursor = rows[size - 1].pk if len(rows) > size else None
    return DealPage(rows=rows[:size], next_cursor=next_cursor)


def deal_get(*, viewer, pk: int) -> Deal | None:
    return (deals_visible(viewer=viewer)
            .select_related("unit__building", "project", "customer", "consultant",
                            "swapped_from__unit")
            .prefetch_related(
                Prefetch("buyers", queryset=Deal.buyers.rel.related_model.objects
                         .select_related("customer")),
                Prefetch("instalments", queryset=Instalment.objects.order_by("sequence")),
                Prefetch("payments", queryset=Payment.objects.select_related(
                    "instalment", "recorded_by").order_by("-paid_at", "-id")),
                Prefetch("events", queryset=DealEvent.objects.select_related("actor")
                         .order_by("-id")),
                Prefetch("change_requests", queryset=DealChangeRequest.objects.select_related(
                    "requested_by", "decided_by", "target_unit").order_by("-id")))
            .filter(pk=pk).first())


def deal_for_form(*, viewer, pk: int) -> Deal | None:
    """The deal alone (unit, project, customer), for the action forms."""
    return (deals_visible(viewer=viewer)
            .select_related("unit__building", "project", "customer").filter(pk=pk).first())


def deal_swapped_to(*, deal: Deal) -> Deal | None:
    return Deal.objects.filter(swapped_from=deal).only("id").first()


def payment_get(*, viewer, pk: int) -> Payment | None:
    return (Payment.objects.filter(deal__in=deals_visible(viewer=viewer), pk=pk)
            .select_related("deal__unit__building", "deal__project", "deal__customer",
                            "instalment", "recorded_by").first())


def change_requests(*, viewer, state: str | None = DealChangeRequest.State.PENDING
                    ) -> list[DealChangeRequest]:
    qs = (DealChangeRequest.objects.visible_to(viewer)
          .select_related("deal__unit", "deal__customer", "requested_by", "decided_by",
                          "target_unit"))
    if state:
        qs = qs.filter(state=state)
    return list(qs.order_by("-id")[:200])


def change_request_get(*, viewer, pk: int) -> DealChangeRequest | None:
    return (DealChangeRequest.objects.visible_to(viewer)
            .select_related("deal__unit", "deal__customer", "deal__project", "requested_by",
                            "decided_by", "target_unit", "new_deal").filter(pk=pk).first())


def overdue_deal_count(*, viewer, today: datetime.date | None = None) -> int:
    """Live deals in the viewer's scope with an instalment past due and not paid in full."""
    today = today or timezone.localdate()
    return deals_visible(viewer=viewer).filter(
        status__in=LIVE_STATUSES, pk__in=Instalment.objects.filter(
            paid_at__isnull=True, due_date__lt=today).values("deal_id")).count()


def pending_change_count(*, viewer) -> int:
    if not viewer.may("approve_deals"):
        return 0
    return DealChangeRequest.objects.visible_to(viewer).filter(
        state=DealChangeRequest.State.PENDING).count()


def customer_deals(*, viewer, customer: Customer) -> dict:
    """The 360° section: the deals this customer is the main buyer or a co-buyer of, with
    their units and payments, as far as the viewer may see them."""
    deals = list(deals_visible(viewer=viewer)
                 .filter(Q(customer=customer) | Q(buyers__customer=customer)).distinct()
                 .select_related("unit__building", "project", "consultant")
                 .prefetch_related(Prefetch("payments", queryset=Payment.objects.order_by(
                     "-paid_at", "-id")))
                 .order_by("-id")[:20])
    return {"deals": deals}


def units_for_swap(*, viewer, deal: Deal) -> QuerySet[Unit]:
    return (Unit.objects.visible_to(viewer)
            .filter(building__project_id=deal.project_id, status=Unit.Status.AVAILABLE)
            .exclude(pk=deal.unit_id).select_related("building").order_by("building__code",
                                                                           "-floor", "position"))


def customers_for_deal(*, viewer, q: str, limit: int = 10) -> list[Customer]:
    """Customers the viewer may sell to, found by name, phone digits or pinyin."""
    from anju.customers.search import customer_search

    q = (q or "").strip()
    if not q:
        return []
    found = [hit.customer for hit in customer_search(viewer=viewer, query=q, limit=limit)]
    if not found:  # rows written without search terms (bulk loads) are still found by name
        found = list(Customer.objects.visible_to(viewer).filter(
            merged_into__isnull=True, name__icontains=q).order_by("-id")[:limit])
    return found


def overdue_instalments(*, viewer, today: datetime.date | None = None) -> QuerySet[Instalment]:
    today = today or timezone.localdate()
    return (Instalment.objects.filter(deal__in=deals_visible(viewer=viewer),
                                      deal__status__in=LIVE_STATUSES, paid_at__isnull=True,
                                      due_date__lt=today)
            .select_related("deal__unit", "deal__customer").order_by("due_date"))


STATUS_CHOICES = DealStatus.choices
