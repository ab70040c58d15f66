"""Leads and channels (线索与渠道): where people come from and what it cost, every inbound
person captured once, graded, assigned; agencies (中介/分销) and their registrations (报备).

Every write is in `services.py`; nothing here holds a business rule beyond the row's own
invariants (check constraints, the one-live-claim partial unique index)."""

from decimal import Decimal
from typing import Self

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from anju.accounts.models import Company, Project
from anju.core.models import TimeStampedModel
from anju.core.scoping import Level, ScopedQuerySet, ScopeSpec
from anju.customers.models import Customer

User = settings.AUTH_USER_MODEL


# --- channels and their cost ---------------------------------------------------------------

class Channel(TimeStampedModel):
    """A tree: online ads › 抖音, showroom walk-in, call-in, agency, referrals, events…"""

    class Kind(models.TextChoices):
        ONLINE_AD = "online_ad", _("online ads")
        PLATFORM = "platform", _("property platform")
        WALK_IN = "walk_in", _("showroom walk-in")
        CALL_IN = "call_in", _("call-in")
        AGENCY = "agency", _("agency")
        OWNER_REFERRAL = "owner_referral", _("owner referral")
        EMPLOYEE_REFERRAL = "employee_referral", _("employee referral")
        EXHIBITION = "exhibition", _("exhibition")
        EVENT = "event", _("event")
        OTHER = "other", _("other")

    name = models.CharField(_("name"), max_length=60)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="children", verbose_name=_("parent channel"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")

    def __str__(self) -> str:
        return self.name

    @property
    def is_referral(self) -> bool:
        return self.kind in (self.Kind.OWNER_REFERRAL, self.Kind.EMPLOYEE_REFERRAL)


class ChannelCost(TimeStampedModel):
    """Money spent on a channel over a period (for one project, or all when blank)."""

    scope = ScopeSpec(project="project", company="project__company")

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="costs",
                                verbose_name=_("channel"))
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("project"))
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    amount = models.DecimalField(_("amount (元)"), max_digits=14, decimal_places=2,
                                 validators=[MinValueValidator(Decimal(0))])
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-period_start", "id"]
        verbose_name = _("channel cost")
        verbose_name_plural = _("channel costs")
        constraints = [
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")),
                                   name="channel_cost_period_order"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="channel_cost_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.period_start}–{self.period_end}"


class LeadSource(TimeStampedModel):
    """An outside system that posts leads through the API with its own key (a form on a
    platform, an ad network). Only the key's SHA-256 is kept; the key is shown once."""

    scope = ScopeSpec(project="project", company="project__company")

    name = models.CharField(_("name"), max_length=60)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="sources",
                                verbose_name=_("channel"))
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("project"))
    key_prefix = models.CharField(_("key starts with"), max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("lead source")
        verbose_name_plural = _("lead sources")

    def __str__(self) -> str:
        return self.name


# --- policy (per project, with a company-wide default) ---------------------------------------

class LeadPolicy(models.Model):
    """The numbers a project configures; the row without a project is the default."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, null=True, blank=True,
                                   related_name="lead_policy", verbose_name=_("project"))
    protection_days = models.PositiveSmallIntegerField(
        _("registration protection (days)"), default=30,
        validators=[MinValueValidator(1)])
    visit_window_days = models.PositiveSmallIntegerField(
        _("visit confirmation window (days)"), default=7, validators=[MinValueValidator(1)])
    escalation_minutes = models.PositiveIntegerField(
        _("escalate when not contacted within (minutes)"), default=30,
        validators=[MinValueValidator(1)])
    review_registrations = models.BooleanField(
        _("registrations wait for a manager's review"), default=False)
    grade_a_min = models.PositiveSmallIntegerField(_("points for grade A"), default=70)
    grade_b_min = models.PositiveSmallIntegerField(_("points for grade B"), default=40)
    commission_rate = models.DecimalField(_("agency commission (%)"), max_digits=5,
                                          decimal_places=2, default=Decimal("1.00"))

    class Meta:
        verbose_name = _("lead policy")
        verbose_name_plural = _("lead policies")

    def __str__(self) -> str:
        return str(self.project or _("default"))


# --- agencies ------------------------------------------------------------------------------

class AgencyQuerySet(ScopedQuerySet):
    """Agencies work with a company: seen by those who see the company or one of its
    projects (the staff who receive their customers), and by their own agents."""

    def visible_to(self, user) -> Self:
        if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
            return self.none()
        scope = user.data_scope()
        if scope.level == Level.ALL:
            return self
        companies = set(scope.company_ids) | set(
            Project.objects.filter(pk__in=scope.project_ids).values_list("company_id",
                                                                         flat=True))
        return self.filter(Q(company_id__in=companies) | Q(agents__user_id=user.pk)).distinct()


class Agency(TimeStampedModel):
    """An outside agency (中介/分销) with its agents and the consultant who receives them."""

    scope = ScopeSpec(company="company")

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("company"))
    name = models.CharField(_("name"), max_length=100)
    contact_consultant = models.ForeignKey(User, on_delete=models.SET_NULL, null=True,
                                           blank=True, related_name="+",
                                           verbose_name=_("contact consultant"))
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("channel"))
    commission_rate = models.DecimalField(_("commission (%)"), max_digits=5, decimal_places=2,
                                          null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = AgencyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        constraints = [models.UniqueConstraint(fields=["company", "name"],
                                               name="agency_name_unique_in_company")]

    def __str__(self) -> str:
        return self.name


class AgencyAgent(TimeStampedModel):
    """A user (role: channel agent) working for one agency."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="agents",
                               verbose_name=_("agency"))
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="agency_link",
                                verbose_name=_("agent"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("agency agent")
        verbose_name_plural = _("agency agents")

    def __str__(self) -> str:
        return f"{self.agency}: {self.user}"


class RegistrationQuerySet(ScopedQuerySet):
    """An agent sees their own registrations only, whatever their scope; staff see those of
    their projects (a consultant confirms visits for the project), managers by scope."""

    def visible_to(self, user) -> Self:
        if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
            return self.none()
        if getattr(user, "is_superuser", False):
            return self
        role = getattr(user, "role", None)
        if role is not None and role.code == "channel_agent":
            return self.filter(agent_id=user.pk)
        scope = user.data_scope()
        if scope.level in (Level.OWN, Level.TEAM):
            return self.filter(project_id__in=scope.project_ids)
        return super().visible_to(user)


class Registration(models.Model):
    """An agency's claim (报备) on a person for a project.

    `claim_key` is the phone's first three and last four digits (`138****8000`), whether the
    agent typed the full number or a masked one, so a full and a masked registration of one
    person collide. At most one live claim (pending, accepted or visited) per project and
    key: a partial unique index, so concurrent registrations cannot both win."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending review")
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")
        VISITED = "visited", _("visited")
        EXPIRED = "expired", _("expired")
        CONVERTED = "converted", _("converted")

    LIVE = (Status.PENDING, Status.ACCEPTED, Status.VISITED)

    class Reason(models.TextChoices):
        NONE = "", _("none")
        EXISTING_CUSTOMER = "existing_customer", _("already a customer of the project")
        CLAIMED = "claimed", _("already registered by another agency")
        OWN_CLAIM = "own_claim", _("already registered by your agency")
        MANAGER = "manager", _("rejected by a manager")

    scope = ScopeSpec(owner="agent", project="project", company="project__company")

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="registrations",
                               verbose_name=_("agency"))
    agent = models.ForeignKey(User, on_delete=models.PROTECT, related_name="registrations",
                              verbose_name=_("agent"))
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("project"))
    customer_name = models.CharField(_("customer name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    claim_key = models.CharField(_("phone (first 3 + last 4)"), max_length=16)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True)
    conflict_with = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", verbose_name=_("claim held by"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True, db_index=True)
    decided_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    visit_deadline = models.DateTimeField(_("visit by"), null=True, blank=True)
    protected_until = models.DateTimeField(_("protected until"), null=True, blank=True)
    visited_at = models.DateTimeField(_("visit confirmed at"), null=True, blank=True)
    visit_confirmed_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True,
                                           blank=True, related_name="+",
                                           verbose_name=_("visit confirmed by"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+", verbose_name=_("customer"))

    objects = RegistrationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "claim_key"],
                condition=Q(status__in=["pending", "accepted", "visited"]),
                name="registration_one_live_claim"),
        ]
        indexes = [
            models.Index(fields=["agent", "-created_at"], name="registration_agent_idx"),
            models.Index(fields=["project", "claim_key", "created_at"],
                         name="registration_claim_idx"),
            models.Index(fields=["status", "visit_deadline"], name="registration_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.agency} {self.claim_key} {self.project}"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE


class RegistrationEvent(models.Model):
    """Append-only: every answer and move of a registration, the dispute trail."""

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE,
                                     related_name="events")
    kind = models.CharField(max_length=20)
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"


class AgencyCommission(models.Model):
    """Commission owed to an agency for a deal signed within a protected registration."""

    class Status(models.TextChoices):
        OWED = "owed", _("owed")
        PAID = "paid", _("paid")

    scope = ScopeSpec(project="project", company="project__company")

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="commissions",
                               verbose_name=_("agency"))
    registration = models.OneToOneField(Registration, on_delete=models.PROTECT,
                                        related_name="commission")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    deal_reference = models.CharField(_("deal"), max_length=64, unique=True)
    deal_amount = models.DecimalField(_("deal amount (元)"), max_digits=14, decimal_places=2)
    rate = models.DecimalField(_("rate (%)"), max_digits=5, decimal_places=2)
    amount = models.DecimalField(_("commission (元)"), max_digits=14, decimal_places=2)
    signed_at = models.DateTimeField(_("signed at"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices,
                              default=Status.OWED)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-signed_at", "-id"]
        verbose_name = _("agency commission")
        verbose_name_plural = _("agency commissions")

    def __str__(self) -> str:
        return f"{self.agency} {self.deal_reference}"


# --- leads ----------------------------------------------------------------------------------

class Timing(models.TextChoices):
    UNKNOWN = "", _("no date set")
    WITHIN_1M = "1m", _("within a month")
    WITHIN_3M = "3m", _("within 3 months")
    WITHIN_6M = "6m", _("within 6 months")
    LATER = "later", _("later")


class Grade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", _("D (invalid)")


class Lead(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("new")
        ASSIGNED = "assigned", _("assigned")
        CONTACTED = "contacted", _("contacted")
        VISITED = "visited", _("visited")
        CONVERTED = "converted", _("converted")
        INVALID = "invalid", _("invalid")
        LOST = "lost", _("lost")

    OPEN = (Status.NEW, Status.ASSIGNED, Status.CONTACTED, Status.VISITED)

    class Method(models.TextChoices):
        FORM = "form", _("form")
        API = "api", _("API")
        IMPORT = "import", _("import")
        QR = "qr", _("showroom QR check-in")
        REGISTRATION = "registration", _("agency registration")

    scope = ScopeSpec(owner="assigned_to", project="project", company="project__company")

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("project"))
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="leads", verbose_name=_("channel"))
    source = models.ForeignKey(LeadSource, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="leads", verbose_name=_("source"))
    method = models.CharField(_("captured by"), max_length=12, choices=Method.choices)
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=32)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices,
                              default=Status.NEW)
    invalid_reason = models.CharField(_("why invalid"), max_length=200, blank=True)
    lost_reason = models.CharField(_("why lost"), max_length=200, blank=True)

    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, blank=True)
    grade_reason = models.CharField(_("why this grade"), max_length=300, blank=True)
    grade_points = models.SmallIntegerField(default=0)
    grade_override = models.CharField(_("grade set by a manager"), max_length=1,
                                      choices=Grade.choices, blank=True)
    grade_override_reason = models.CharField(_("why set by hand"), max_length=200, blank=True)
    grade_override_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True,
                                          blank=True, related_name="+")
    grade_override_at = models.DateTimeField(null=True, blank=True)

    assigned_to = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="assigned_leads",
                                    verbose_name=_("consultant"))
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    first_contacted_at = models.DateTimeField(_("first contact"), null=True, blank=True)
    first_response_seconds = models.PositiveIntegerField(null=True, blank=True)
    visited_at = models.DateTimeField(_("visited at"), null=True, blank=True)
    visits = models.PositiveSmallIntegerField(_("visits"), default=0)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="leads", verbose_name=_("customer"))
    known_customer = models.BooleanField(_("already in the ledger"), default=False)
    registration = models.ForeignKey(Registration, on_delete=models.SET_NULL, null=True,
                                     blank=True, related_name="leads",
                                     verbose_name=_("agency registration"))
    referrer_customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True,
                                          blank=True, related_name="referred_leads",
                                          verbose_name=_("referred by (owner)"))
    referrer_user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="referred_leads",
                                      verbose_name=_("referred by (employee)"))

    budget_wan = models.DecimalField(_("budget (万元)"), max_digits=10, decimal_places=1,
                                     null=True, blank=True)
    timing = models.CharField(_("when buying"), max_length=8, choices=Timing.choices,
                              blank=True)
    unit_type = models.CharField(_("unit type wanted"), max_length=50, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(_("captured at"), auto_now_add=True, db_index=True)
    idempotency_key = models.CharField(max_length=100, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        constraints = [
            models.UniqueConstraint(fields=["source", "idempotency_key"],
                                    condition=~Q(idempotency_key=""),
                                    name="lead_source_idempotency_key"),
            models.CheckConstraint(
                condition=~Q(status="invalid") | ~Q(invalid_reason=""),
                name="lead_invalid_has_reason"),
        ]
        indexes = [
            models.Index(fields=["project", "phone"], name="lead_project_phone_idx"),
            models.Index(fields=["assigned_to", "status", "-created_at"],
                         name="lead_queue_idx"),
            models.Index(fields=["project", "-created_at"], name="lead_project_idx"),
            models.Index(fields=["status", "assigned_at"],
                         condition=Q(first_contacted_at__isnull=True, escalated_at__isnull=True),
                         name="lead_escalation_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def grade_in_force(self) -> str:
        return self.grade_override or self.grade

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class LeadEvent(models.Model):
    """Append-only history of a lead: captured, graded, assigned, contacted, escalated…"""

    class Kind(models.TextChoices):
        CAPTURED = "captured", _("captured")
        CAPTURED_AGAIN = "captured_again", _("came in again")
        GRADED = "graded", _("graded")
        GRADE_OVERRIDE = "grade_override", _("grade set by hand")
        ASSIGNED = "assigned", _("assigned")
        REASSIGNED = "reassigned", _("reassigned")
        UNASSIGNED = "unassigned", _("nobody on duty")
        CONTACTED = "contacted", _("contacted")
        VISITED = "visited", _("visited")
        ESCALATED = "escalated", _("escalated")
        CONVERTED = "converted", _("converted")
        INVALID = "invalid", _("marked invalid")
        LOST = "lost", _("marked lost")
        NOTE = "note", _("note")

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["lead", "at"], name="lead_event_lead_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"


# --- assignment and grading rules -------------------------------------------------------------

class DutyRoster(models.Model):
    """Who is on duty at a project's reception on one day, in turn order (排班/轮序)."""

    scope = ScopeSpec(project="project", company="project__company")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+",
                                verbose_name=_("project"))
    date = models.DateField(_("date"))
    next_position = models.PositiveIntegerField(default=0)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "project_id"]
        verbose_name = _("duty roster")
        verbose_name_plural = _("duty rosters")
        constraints = [models.UniqueConstraint(fields=["project", "date"],
                                               name="duty_roster_one_a_day")]

    def __str__(self) -> str:
        return f"{self.project} {self.date}"


class DutyRosterEntry(models.Model):
    roster = models.ForeignKey(DutyRoster, on_delete=models.CASCADE, related_name="entries")
    consultant = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+",
                                   verbose_name=_("consultant"))
    position = models.PositiveSmallIntegerField(_("turn"))
    absent = models.BooleanField(_("absent"), default=False)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["roster", "consultant"],
                                               name="duty_roster_entry_once")]

    def __str__(self) -> str:
        return f"{self.position}: {self.consultant_id}"


class AssignmentRule(models.Model):
    """Leads of a project matching channel and grade (blank: any) go to a team's members
    or named consultants, in turn among those on today's roster."""

    scope = ScopeSpec(project="project", company="project__company")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+",
                                verbose_name=_("project"))
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="+", verbose_name=_("channel"))
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, blank=True)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, null=True,
                             blank=True, related_name="+", verbose_name=_("team"))
    consultants = models.ManyToManyField(User, blank=True, related_name="+",
                                         verbose_name=_("consultants"))
    next_position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "order", "id"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")

    def __str__(self) -> str:
        return f"{self.project_id} #{self.order}"


class GradingRule(models.Model):
    """One criterion of the grade: points when met, and the words that explain it.

    The points of the met criteria add up; the policy's thresholds turn them into A/B/C; a
    met criterion that `disqualifies` makes the lead D. Project blank: every project."""

    class Field(models.TextChoices):
        BUDGET = "budget_wan", _("budget (万元)")
        TIMING = "timing", _("when buying")
        VISITS = "visits", _("visits")
        UNIT_TYPE = "unit_type", _("unit type wanted")
        CHANNEL_KIND = "channel_kind", _("channel kind")

    class Op(models.TextChoices):
        GTE = "gte", _("at least")
        LTE = "lte", _("at most")
        IN = "in", _("one of")
        SET = "set", _("given")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="+", verbose_name=_("project"))
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    field = models.CharField(_("criterion"), max_length=16, choices=Field.choices)
    op = models.CharField(_("test"), max_length=4, choices=Op.choices)
    value = models.CharField(_("value"), max_length=100, blank=True)
    points = models.SmallIntegerField(_("points"), default=0)
    disqualifies = models.BooleanField(_("makes the lead D"), default=False)
    label_met = models.CharField(_("explanation when met"), max_length=60, blank=True)
    label_unmet = models.CharField(_("explanation when not met"), max_length=60, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("grading rule")
        verbose_name_plural = _("grading rules")

    def __str__(self) -> str:
        return f"{self.field} {self.op} {self.value}"


# --- import ---------------------------------------------------------------------------------

class LeadImport(models.Model):
    """One uploaded xlsx sheet of leads, worked through in the background
    (`importing.lead_import_process`): queued → running → done, or failed with a message.

    `total_rows` is the number of data rows in the file (counted before the work starts);
    `total` the rows read so far, so the page shows `total` / `total_rows` while it runs.
    `rejected_rows` keeps the first REJECTED_KEPT rejected rows (page and API); the error
    sheet (`error_file`) has every one of them."""

    REJECTED_KEPT = 1000

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    scope = ScopeSpec(owner="created_by", project="project", company="project__company")

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    original_name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices,
                              default=Status.QUEUED)
    language = models.CharField(max_length=16, default="zh-hans")
    file = models.FileField(upload_to="imports/leads/%Y/%m/", blank=True)
    error_file = models.FileField(upload_to="imports/leads/rejected/%Y/%m/", blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    known = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    headers = models.JSONField(default=list)
    rejected_rows = models.JSONField(default=list)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def in_progress(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, self.total * 100 // self.total_rows)


# --- rate limits ----------------------------------------------------------------------------

class RateLimitBucket(models.Model):
    """One fixed window of a rate limit (`ratelimit.py`) when the count is kept in the
    database: one row per scope, key and window, counted up by one atomic upsert. Rows of
    past windows are purged by `tasks.ratelimit_purge`."""

    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=200)
    window = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "leads_ratelimitbucket"  # named in ratelimit.UPSERT
        constraints = [models.UniqueConstraint(fields=["scope", "key", "window"],
                                               name="leads_ratelimit_bucket_unique")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}@{self.window}={self.count}"


from .models_intake import LeadIntake  # noqa: E402, F401  (the intake queue, `intake.py`)
