"""Reads of the leads app; every one starts from `visible_to(user)`."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from anju.accounts.models import Project, User

from .models import (
    Agency,
    AgencyCommission,
    AssignmentRule,
    Channel,
    ChannelCost,
    DutyRoster,
    DutyRosterEntry,
    GradingRule,
    Lead,
    LeadEvent,
    LeadImport,
    LeadSource,
    Registration,
)

PAGE_SIZE = 50


def lead_queue(*, user: User, view: str = "mine", status: str = "", project_id: int | None = None,
               grade: str = "", before_id: int | None = None) -> QuerySet[Lead]:
    """"mine": assigned to the user; "team": everything the user's scope shows; open leads
    first by default (status "" = open, "all" = every status)."""
    qs = Lead.objects.visible_to(user).select_related("project", "channel", "assigned_to")
    if view == "mine":
        qs = qs.filter(assigned_to=user)
    if status == "all":
        pass
    elif status in Lead.Status.values:
        qs = qs.filter(status=status)
    else:
        qs = qs.filter(status__in=Lead.OPEN)
    if project_id:
        qs = qs.filter(project_id=project_id)
    if grade:
        qs = qs.filter(Q(grade_override=grade) | Q(grade_override="", grade=grade))
    if before_id:
        qs = qs.filter(id__lt=before_id)
    return qs.order_by("-id")


def lead_detail(*, user: User, lead_id: int) -> Lead:
    return (Lead.objects.visible_to(user)
            .select_related("project", "channel", "source", "assigned_to", "customer",
                            "registration__agency", "referrer_customer", "referrer_user",
                            "grade_override_by")
            .prefetch_related(Prefetch("events", queryset=LeadEvent.objects.select_related(
                "actor").order_by("at", "id")))
            .get(pk=lead_id))


def channel_tree(*, user: User) -> list[tuple[Channel, int]]:
    """Channels in tree order, each with its depth."""
    channels = list(Channel.objects.order_by("name"))
    children: dict[int | None, list[Channel]] = {}
    for channel in channels:
        children.setdefault(channel.parent_id, []).append(channel)
    out: list[tuple[Channel, int]] = []

    def walk(parent_id, depth):
        for channel in children.get(parent_id, []):
            out.append((channel, depth))
            if depth < 10:
                walk(channel.pk, depth + 1)

    walk(None, 0)
    return out


def channel_costs(*, user: User) -> QuerySet[ChannelCost]:
    return ChannelCost.objects.visible_to(user).select_related("channel", "project")


def lead_sources(*, user: User) -> QuerySet[LeadSource]:
    return LeadSource.objects.visible_to(user).select_related("channel", "project")


def agencies(*, user: User) -> QuerySet[Agency]:
    return (Agency.objects.visible_to(user).select_related("contact_consultant", "channel")
            .annotate(agent_count=Count("agents", distinct=True)))


def registrations(*, user: User, status: str = "", project_id: int | None = None
                  ) -> QuerySet[Registration]:
    qs = Registration.objects.visible_to(user).select_related("agency", "agent", "project")
    if status in Registration.Status.values:
        qs = qs.filter(status=status)
    if project_id:
        qs = qs.filter(project_id=project_id)
    return qs.order_by("-created_at", "-id")


def commissions(*, user: User) -> QuerySet[AgencyCommission]:
    return AgencyCommission.objects.visible_to(user).select_related("agency", "project")


def rosters(*, user: User, day: datetime.date | None = None) -> QuerySet[DutyRoster]:
    day = day or timezone.localdate()
    return (DutyRoster.objects.visible_to(user).filter(date=day).select_related("project")
            .prefetch_related(Prefetch("entries", queryset=DutyRosterEntry.objects
                                       .select_related("consultant").order_by("position"))))


def assignment_rules(*, user: User) -> QuerySet[AssignmentRule]:
    return (AssignmentRule.objects.visible_to(user)
            .select_related("project", "channel", "team").prefetch_related("consultants"))


def grading_rules(*, user: User) -> QuerySet[GradingRule]:
    projects = Project.objects.visible_to(user).values("id")
    return (GradingRule.objects.filter(Q(project__isnull=True) | Q(project__in=projects))
            .select_related("project"))


def lead_imports(*, user: User) -> QuerySet[LeadImport]:
    return LeadImport.objects.visible_to(user).select_related("project", "channel")


def consultants_of(*, user: User, project_id: int) -> QuerySet[User]:
    return (User.objects.visible_to(user).filter(projects=project_id, is_active=True,
                                                 role__code="sales_consultant")
            .order_by("display_name", "username"))


@dataclass(frozen=True)
class Inbox:
    """The count of open leads of a consultant, for the dashboard tile."""

    open: int
    new_today: int


def my_open_leads(*, user: User) -> Inbox:
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    row = Lead.objects.filter(assigned_to=user, status__in=Lead.OPEN).aggregate(
        open=Count("id"), new_today=Count("id", filter=Q(created_at__gte=today)))
    return Inbox(open=row["open"], new_today=row["new_today"])


def customer_leads_section(*, customer, viewer: User) -> dict:
    """The customer's 360° block: their leads (by channel) and the leads they referred,
    both as far as the viewer's scope reaches."""
    base = Lead.objects.visible_to(viewer).select_related("project", "channel", "assigned_to")
    return {"leads": list(base.filter(customer=customer).order_by("-id")[:20]),
            "referred": list(base.filter(referrer_customer=customer).order_by("-id")[:20])}
