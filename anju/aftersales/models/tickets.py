"""Customer-service models: tickets.

The problem library (统一问题分类) is company-wide: locations (rooms and public areas, bound
to projects), a component tree whose leaves map to problem categories (the statistic),
common descriptions under a category, and warranty periods per component. A ticket (工单)
records who, where and what, moves through the flow of its type only by the services in
`anju.aftersales.tickets.services` (row lock, move checked against `tickets.flows`, an
append-only `TicketEvent`), and carries its SLA deadlines in working time
(`tickets.sla`, `tickets.calendar`)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from anju.accounts.models import Company, Project, Team
from anju.core.scoping import ScopedQuerySet, ScopeSpec

__all__ = [
    "FINAL_STATUSES",
    "OPEN_STATUSES",
    "CalendarDay",
    "Component",
    "Location",
    "ProblemCategory",
    "ProblemDescription",
    "ProjectLocation",
    "SlaPolicy",
    "Ticket",
    "TicketCallback",
    "TicketChannel",
    "TicketEvent",
    "TicketPayer",
    "TicketPhoto",
    "TicketStat",
    "TicketStatMonth",
    "TicketStatus",
    "TicketType",
    "TicketUrgency",
    "WarrantyPeriod",
    "WorkCalendar",
]


# ---------------------------------------------------------------- the problem library


class CompanyWideQuerySet(ScopedQuerySet):
    """Company-wide rows (the library, SLA policies, calendars): every user sees those of
    the companies their scope reaches, through their companies or their projects."""

    def visible_to(self, user):
        if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
            return self.none()
        scope = user.data_scope()
        if scope.level == "all":
            return self
        path = f"{self.model.scope.company}__in"
        through_projects = Project.objects.order_by().filter(
            pk__in=scope.project_ids).values("company_id")
        return self.filter(Q(**{path: scope.company_ids}) | Q(**{path: through_projects}))


class Location(models.Model):
    """A place a problem is found: a room of a unit (卫生间) or a public area (电梯厅)."""

    scope = ScopeSpec(company="company")

    class Kind(models.TextChoices):
        ROOM = "room", _("room of a unit")
        PUBLIC = "public", _("public area")

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+",
                                verbose_name=_("company"))
    name = models.CharField(_("name"), max_length=50)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.ROOM)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    active = models.BooleanField(_("in use"), default=True)
    projects = models.ManyToManyField(Project, through="ProjectLocation", blank=True,
                                      related_name="service_locations",
                                      verbose_name=_("projects"))

    objects = CompanyWideQuerySet.as_manager()

    class Meta:
        ordering = ["order", "name"]
        constraints = [models.UniqueConstraint(fields=["company", "name"],
                                               name="service_location_unique_name")]
        verbose_name = _("location")
        verbose_name_plural = _("locations")

    def __str__(self) -> str:
        return self.name


class ProjectLocation(models.Model):
    """A project's use of a library location (a project binds the locations it has)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="bindings")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "location"],
                                               name="service_project_location_unique")]

    def __str__(self) -> str:
        return f"{self.project_id}: {self.location_id}"


class ProblemCategory(models.Model):
    """A problem category (问题分类: 渗漏, 开裂, 空鼓 …): what quality reports count."""

    scope = ScopeSpec(company="company")

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+",
                                verbose_name=_("company"))
    name = models.CharField(_("name"), max_length=50)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    active = models.BooleanField(_("in use"), default=True)

    objects = CompanyWideQuerySet.as_manager()

    class Meta:
        ordering = ["order", "name"]
        constraints = [models.UniqueConstraint(fields=["company", "name"],
                                               name="service_category_unique_name")]
        verbose_name = _("problem category")
        verbose_name_plural = _("problem categories")

    def __str__(self) -> str:
        return self.name


class Component(models.Model):
    """A component (构件) in a multi-level tree: 土建 › 墙面 › 天花. Leaves map to the problem
    categories that can occur on them and to the locations where they are found (none =
    everywhere)."""

    scope = ScopeSpec(company="company")

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+",
                                verbose_name=_("company"))
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="children", verbose_name=_("parent"))
    name = models.CharField(_("name"), max_length=50)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    active = models.BooleanField(_("in use"), default=True)
    categories = models.ManyToManyField(ProblemCategory, blank=True, related_name="components",
                                        verbose_name=_("problem categories"))
    locations = models.ManyToManyField(Location, blank=True, related_name="components",
                                       verbose_name=_("locations"))

    objects = CompanyWideQuerySet.as_manager()

    class Meta:
        ordering = ["order", "name"]
        constraints = [models.UniqueConstraint(fields=["company", "parent", "name"],
                                               name="service_component_unique_name"),
                       models.UniqueConstraint(fields=["company", "name"],
                                               condition=Q(parent__isnull=True),
                                               name="service_component_unique_root")]
        verbose_name = _("component")
        verbose_name_plural = _("components")

    def __str__(self) -> str:
        return self.name


class ProblemDescription(models.Model):
    """A common description under a category (下水管周围渗漏); agents may add new ones."""

    scope = ScopeSpec(company="category__company")

    category = models.ForeignKey(ProblemCategory, on_delete=models.CASCADE,
                                 related_name="descriptions", verbose_name=_("category"))
    component = models.ForeignKey(Component, on_delete=models.CASCADE, null=True, blank=True,
                                  related_name="descriptions", verbose_name=_("component"))
    text = models.CharField(_("description"), max_length=200)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                 null=True, blank=True, related_name="+",
                                 verbose_name=_("added by"))
    uses = models.PositiveIntegerField(_("times used"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = CompanyWideQuerySet.as_manager()

    class Meta:
        ordering = ["-uses", "text"]
        constraints = [models.UniqueConstraint(fields=["category", "component", "text"],
                                               name="service_description_unique")]
        verbose_name = _("problem description")
        verbose_name_plural = _("problem descriptions")

    def __str__(self) -> str:
        return self.text


class WarrantyPeriod(models.Model):
    """How long the developer answers for a component from the handover date; a component
    without its own period takes its nearest ancestor's (tickets.library.warranty_for)."""

    scope = ScopeSpec(company="component__company")

    component = models.OneToOneField(Component, on_delete=models.CASCADE,
                                     related_name="warranty", verbose_name=_("component"))
    years = models.PositiveSmallIntegerField(
        _("years"), validators=[MinValueValidator(0), MaxValueValidator(70)])
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = CompanyWideQuerySet.as_manager()

    class Meta:
        verbose_name = _("warranty period")
        verbose_name_plural = _("warranty periods")

    def __str__(self) -> str:
        return f"{self.component}: {self.years}"


# ---------------------------------------------------------------- tickets


class TicketType(models.TextChoices):
    REPAIR = "repair", _("repair")
    SELF_INSPECTION = "self_inspection", _("repair found in self-inspection")
    COMPLAINT = "complaint", _("complaint")
    CONSULTATION = "consultation", _("consultation")
    PRAISE = "praise", _("praise")


class TicketChannel(models.TextChoices):
    CALL_CENTRE = "call_centre", _("call centre")
    WALK_IN = "walk_in", _("walk-in")
    PORTAL = "portal", _("owner portal")
    WECHAT = "wechat", _("WeChat")
    HANDOVER = "handover", _("handover inspection")
    COMPLAINT_BOARD = "complaint_board", _("online complaint board")


class TicketUrgency(models.TextChoices):
    LOW = "low", pgettext_lazy("urgency", "low")
    NORMAL = "normal", pgettext_lazy("urgency", "normal")
    HIGH = "high", pgettext_lazy("urgency", "high")
    CRITICAL = "critical", pgettext_lazy("urgency", "critical")


class TicketStatus(models.TextChoices):
    RECEIVED = "received", pgettext_lazy("ticket status", "received")
    TASKED = "tasked", pgettext_lazy("ticket status", "task created")
    DISPATCHED = "dispatched", pgettext_lazy("ticket status", "dispatched")
    ACCEPTED = "accepted", pgettext_lazy("ticket status", "accepted")
    IN_PROGRESS = "in_progress", pgettext_lazy("ticket status", "in progress")
    COMPLETED = "completed", pgettext_lazy("ticket status", "waiting for confirmation")
    CONFIRMED = "confirmed", pgettext_lazy("ticket status", "confirmed")
    CLOSED = "closed", pgettext_lazy("ticket status", "closed")
    CALLED_BACK = "called_back", pgettext_lazy("ticket status", "called back")
    MERGED = "merged", pgettext_lazy("ticket status", "merged")
    CANCELLED = "cancelled", pgettext_lazy("ticket status", "cancelled")


OPEN_STATUSES = ("received", "tasked", "dispatched", "accepted", "in_progress", "completed",
                 "confirmed")
# A ticket that left the agent's queue but still owes a callback sits in CLOSED.
FINAL_STATUSES = ("called_back", "merged", "cancelled")


class TicketPayer(models.TextChoices):
    DEVELOPER = "developer", _("developer (under warranty)")
    CONTRACTOR = "contractor", _("contractor")
    OWNER = "owner", _("owner (out of warranty)")
    PROPERTY = "property", _("property management")
    NONE = "none", _("nobody (no cost)")


class TicketQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """The projects in the user's scope (ScopeSpec), plus, whatever the scope, the tickets
        the user received (一线处理 keeps headquarters' view) and those assigned to them."""
        if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
            return self.none()
        condition = Ticket.scope.filter_for(user.data_scope())
        if condition is None:
            return self
        return self.filter(condition | Q(assignee_user_id=user.pk) | Q(received_by_id=user.pk))


class Ticket(models.Model):
    """One service request (工单). Status moves only through the flow services."""

    scope = ScopeSpec(project="project", company="project__company")

    number = models.CharField(_("number"), max_length=24, unique=True)
    ticket_type = models.CharField(_("type"), max_length=16, choices=TicketType.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=TicketChannel.choices)
    status = models.CharField(_("status"), max_length=16, choices=TicketStatus.choices,
                              default=TicketStatus.RECEIVED)
    urgency = models.CharField(_("urgency"), max_length=8, choices=TicketUrgency.choices,
                               default=TicketUrgency.NORMAL)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="tickets",
                                verbose_name=_("project"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="tickets",
                                 verbose_name=_("customer"))
    building = models.ForeignKey("property.Building", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="tickets",
                                 verbose_name=_("building"))
    unit = models.ForeignKey("property.Unit", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="tickets", verbose_name=_("unit"))
    public_area = models.CharField(_("public area"), max_length=100, blank=True)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="tickets", verbose_name=_("location"))
    component = models.ForeignKey(Component, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="tickets", verbose_name=_("component"))
    category = models.ForeignKey(ProblemCategory, on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="tickets",
                                 verbose_name=_("problem category"))
    description_ref = models.ForeignKey(ProblemDescription, on_delete=models.SET_NULL,
                                        null=True, blank=True, related_name="tickets",
                                        verbose_name=_("common description"))
    description = models.TextField(_("description"))
    title = models.CharField(_("title"), max_length=300)
    owner_visible = models.BooleanField(_("owner may see it"), default=True)

    # who works on it
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("received by"))
    first_line = models.BooleanField(_("received by headquarters (一线处理)"), default=False)
    assignee_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                      null=True, blank=True, related_name="service_tasks",
                                      verbose_name=_("worker"))
    assignee_team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="service_tickets",
                                      verbose_name=_("department or team"))
    assignee_contractor = models.CharField(_("contractor"), max_length=100, blank=True)
    task_deadline = models.DateTimeField(_("task deadline"), null=True, blank=True)

    # warranty
    handover_date = models.DateField(_("handover date"), null=True, blank=True)
    warranty_years = models.PositiveSmallIntegerField(_("warranty (years)"), null=True,
                                                      blank=True)
    warranty_until = models.DateField(_("warranty until"), null=True, blank=True)
    in_warranty = models.BooleanField(_("under warranty"), null=True, blank=True)
    payer = models.CharField(_("who pays"), max_length=12, choices=TicketPayer.choices,
                             blank=True)

    # SLA (deadlines in UTC, computed in working time)
    response_due = models.DateTimeField(_("response due"), null=True, blank=True)
    onsite_due = models.DateTimeField(_("on site due"), null=True, blank=True)
    resolve_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    callback_due = models.DateTimeField(_("callback due"), null=True, blank=True)
    # the earliest deadline still running (None while the clock is stopped): the queue's
    # order; `warn_at` / `escalate_at` are what the periodic sweep looks for
    next_due = models.DateTimeField(_("next deadline"), null=True, blank=True)
    next_clock = models.CharField(_("next deadline for"), max_length=10, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    escalate_at = models.DateTimeField(null=True, blank=True)
    sla_seconds = models.JSONField(default=dict, blank=True)
    sla_paused_seconds = models.PositiveIntegerField(default=0)
    sla_paused_at = models.DateTimeField(_("waiting on the owner since"), null=True,
                                         blank=True)
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    onsite_at = models.DateTimeField(_("on site at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    breached = models.BooleanField(_("SLA breached"), default=False)

    # life
    repeat = models.BooleanField(
        _("repeat repair"), default=False,
        help_text=_("The unit's component was repaired within the year before."))
    round = models.PositiveSmallIntegerField(_("round"), default=1,
                                             help_text=_("Bumped each time it is reopened."))
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="merged_tickets",
                                    verbose_name=_("merged into"))
    praised_team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="praises", verbose_name=_("praised team"))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction"), null=True, blank=True)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=TicketStatus.values),
                                   name="ticket_status_known"),
            models.CheckConstraint(condition=Q(ticket_type__in=TicketType.values),
                                   name="ticket_type_known"),
            models.CheckConstraint(condition=Q(satisfaction__isnull=True)
                                   | Q(satisfaction__gte=1, satisfaction__lte=5),
                                   name="ticket_satisfaction_1_to_5"),
        ]
        indexes = [
            # the agent's queue: running clocks by the next deadline, walked in order and
            # filtered by status and scope (a project's share is found early). The condition
            # has no parameter, so SQLite's planner matches it too (it cannot prove a partial
            # index from a bound `status IN (...)`).
            models.Index(fields=["next_due", "id"], name="ticket_running_due_idx",
                         condition=Q(next_due__isnull=False)),
            # The agent's queue walks each part of a scope in SLA order (`selectors`).
            models.Index(fields=["project", "next_due", "id"], name="ticket_project_due_idx",
                         condition=Q(next_due__isnull=False)),
            models.Index(fields=["received_by", "next_due", "id"],
                         name="ticket_received_due_idx", condition=Q(next_due__isnull=False)),
            models.Index(fields=["assignee_user", "next_due", "id"],
                         name="ticket_assignee_due_idx", condition=Q(next_due__isnull=False)),
            # a queue filtered by urgency (critical repairs, often none): the urgency's own
            # running clocks in SLA order, instead of every running clock of the scope
            models.Index(fields=["urgency", "next_due", "id"], name="ticket_urgency_due_idx",
                         condition=Q(next_due__isnull=False)),
            # the queue's stopped clocks (open tickets waiting on the owner): found by status
            # among the clockless rows, instead of a scan past every finished ticket
            models.Index(fields=["status", "id"], name="ticket_stopped_idx",
                         condition=Q(next_due__isnull=True)),
            # the SLA sweep: running clocks by the next warning time
            models.Index(fields=["warn_at"], name="ticket_sweep_warn_idx",
                         condition=Q(warn_at__isnull=False)),
            models.Index(fields=["escalate_at"], name="ticket_sweep_escalate_idx",
                         condition=Q(escalate_at__isnull=False)),
            models.Index(fields=["assignee_user", "status"], name="ticket_worker_idx"),
            models.Index(fields=["customer", "-id"], name="ticket_customer_idx"),
            models.Index(fields=["unit", "component", "-id"], name="ticket_unit_component_idx"),
            models.Index(fields=["project", "created_at"], name="ticket_project_created_idx"),
        ]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def waiting_on_owner(self) -> bool:
        return self.sla_paused_at is not None


class TicketEvent(models.Model):
    """Append-only timeline of a ticket: every move, note, dispatch, warning and escalation."""

    scope = ScopeSpec(project="ticket__project", company="ticket__project__company")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events",
                               verbose_name=_("ticket"))
    kind = models.CharField(_("what"), max_length=24)
    from_status = models.CharField(_("from"), max_length=16, blank=True)
    to_status = models.CharField(_("to"), max_length=16, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+", verbose_name=_("by"))
    actor_name = models.CharField(_("by"), max_length=100, blank=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    owner_visible = models.BooleanField(default=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["ticket", "id"], name="ticket_event_timeline_idx")]
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.kind}"

    @property
    def kind_label(self) -> str:
        from anju.aftersales.tickets.flows import action_label

        return action_label(self.kind)


class TicketPhoto(models.Model):
    """A photo of the problem (at reception) or of the finished work (at completion),
    re-encoded without metadata and served only through the scoped view."""

    scope = ScopeSpec(project="ticket__project", company="ticket__project__company")

    class Stage(models.TextChoices):
        RECEPTION = "reception", _("at reception")
        COMPLETION = "completion", _("at completion")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="photos",
                               verbose_name=_("ticket"))
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices,
                             default=Stage.RECEPTION)
    image = models.ImageField(_("photo"), upload_to="service/tickets/%Y/%m/")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("ticket photo")
        verbose_name_plural = _("ticket photos")

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.image.name}"


class TicketCallback(models.Model):
    """The satisfaction of one round of a ticket (回访 by an agent or the owner's rating):
    recorded once per round, the database refusing a second one even under a race."""

    scope = ScopeSpec(project="ticket__project", company="ticket__project__company")

    class Source(models.TextChoices):
        AGENT = "agent", _("callback by an agent")
        OWNER = "owner", _("owner's rating")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="callbacks",
                               verbose_name=_("ticket"))
    round = models.PositiveSmallIntegerField(_("round"))
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    score = models.PositiveSmallIntegerField(
        _("satisfaction"), validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.TextField(_("comment"), blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+", verbose_name=_("by"))
    reopened = models.BooleanField(_("reopened"), default=False)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "round"], name="ticket_callback_once"),
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5),
                                   name="ticket_callback_score_1_to_5"),
        ]
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")

    def __str__(self) -> str:
        return f"{self.ticket_id}#{self.round}: {self.score}"


# ---------------------------------------------------------------- SLA and calendars


class SlaPolicy(models.Model):
    """Deadlines in working hours for a type, optionally narrowed to a category and an
    urgency; the most specific matching policy applies (tickets.sla.policy_for)."""

    scope = ScopeSpec(company="company")

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+",
                                verbose_name=_("company"))
    ticket_type = models.CharField(_("type"), max_length=16, choices=TicketType.choices)
    category = models.ForeignKey(ProblemCategory, on_delete=models.CASCADE, null=True,
                                 blank=True, related_name="+", verbose_name=_("category"))
    urgency = models.CharField(_("urgency"), max_length=8, choices=TicketUrgency.choices,
                               blank=True)
    response_hours = models.DecimalField(_("response (working hours)"), max_digits=6,
                                         decimal_places=2, null=True, blank=True)
    onsite_hours = models.DecimalField(_("on site (working hours)"), max_digits=6,
                                       decimal_places=2, null=True, blank=True)
    resolve_hours = models.DecimalField(_("resolution (working hours)"), max_digits=6,
                                        decimal_places=2, null=True, blank=True)
    callback_hours = models.DecimalField(_("callback (working hours)"), max_digits=6,
                                         decimal_places=2, null=True, blank=True)
    warn_percent = models.PositiveSmallIntegerField(
        _("warn at % of the time"), default=80,
        validators=[MinValueValidator(1), MaxValueValidator(99)])

    objects = CompanyWideQuerySet.as_manager()

    class Meta:
        ordering = ["ticket_type", "category_id", "urgency"]
        constraints = [
            models.UniqueConstraint(fields=["company", "ticket_type", "category", "urgency"],
                                    name="service_sla_unique"),
            models.UniqueConstraint(fields=["company", "ticket_type", "urgency"],
                                    condition=Q(category__isnull=True),
                                    name="service_sla_unique_any_category"),
        ]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return f"{self.ticket_type}/{self.category_id or '*'}/{self.urgency or '*'}"


class WorkCalendar(models.Model):
    """A company's working hours; the days come from `chinese_calendar` (public holidays
    and 调休 working weekends) unless a `CalendarDay` overrides them."""

    scope = ScopeSpec(company="company")

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="+",
                                   verbose_name=_("company"))
    day_start = models.TimeField(_("working day starts"), default="09:00")
    day_end = models.TimeField(_("working day ends"), default="18:00")

    objects = CompanyWideQuerySet.as_manager()

    class Meta:
        verbose_name = _("working calendar")
        verbose_name_plural = _("working calendars")

    def __str__(self) -> str:
        return f"{self.company_id}: {self.day_start}–{self.day_end}"


class CalendarDay(models.Model):
    """An admin's word on one day: a working day or a day off, over the library's."""

    scope = ScopeSpec(company="calendar__company")

    calendar = models.ForeignKey(WorkCalendar, on_delete=models.CASCADE, related_name="days",
                                 verbose_name=_("calendar"))
    date = models.DateField(_("date"))
    is_workday = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=100, blank=True)

    objects = CompanyWideQuerySet.as_manager()

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"],
                                               name="service_calendar_day_unique")]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self) -> str:
        return f"{self.date}: {'work' if self.is_workday else 'off'}"


# ---------------------------------------------------------------- quality feedback


class TicketStat(models.Model):
    """Pre-aggregated counts of one month's tickets (by reception date) per project and per
    dimension value: what the quality report reads for closed months (tickets.stats)."""

    scope = ScopeSpec(project="project", company="project__company")

    month = models.DateField(_("month"))
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    dimension = models.CharField(max_length=12)  # total, type, building, component, category
    key = models.CharField(max_length=24, blank=True)
    label = models.CharField(max_length=200, blank=True)
    tickets = models.PositiveIntegerField(default=0)
    repairs = models.PositiveIntegerField(default=0)
    repeats = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    close_seconds = models.BigIntegerField(default=0)
    rated = models.PositiveIntegerField(default=0)
    satisfaction_sum = models.PositiveIntegerField(default=0)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "project", "dimension", "key"],
                                               name="ticket_stat_unique")]
        indexes = [models.Index(fields=["month", "project"], name="ticket_stat_month_idx")]
        verbose_name = _("ticket statistic")
        verbose_name_plural = _("ticket statistics")

    def __str__(self) -> str:
        return f"{self.month} {self.project_id} {self.dimension}:{self.key}"


class TicketStatMonth(models.Model):
    """A month whose statistics are built (and when)."""

    month = models.DateField(_("month"), unique=True)
    built_at = models.DateTimeField(_("built at"))

    def __str__(self) -> str:
        return f"{self.month}"
