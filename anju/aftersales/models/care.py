"""Customer-service models: care — knowledge base, satisfaction surveys, handover (交付).

Knowledge articles belong to a company (the problem library is company-wide); surveys are
templates of questions sent to customers as invitations with a one-time link, answered once;
a handover batch covers the units of one building, owners book its appointment slots (the
slot's `booked` never passes `capacity`: a check constraint and a conditional UPDATE), each
unit is inspected room by room, issues become repair tickets, keys are handed over and the
owner signs off."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from anju.accounts.models import Company, Project
from anju.core.scoping import ScopedQuerySet, ScopeSpec

__all__ = [
    "ChecklistTemplate",
    "HandoverBatch",
    "HandoverEvent",
    "HandoverInspectionItem",
    "HandoverSlot",
    "HandoverUnit",
    "KnowledgeArticle",
    "SurveyAnswer",
    "SurveyInvitation",
    "SurveyQuestion",
    "SurveyResponse",
    "SurveyTemplate",
]


# --- knowledge base ---------------------------------------------------------------------------
class KnowledgeArticle(models.Model):
    """One answer agents give again and again, tied to a problem category (optional)."""

    # Company-wide: own/team/project users see the articles of companies holding their projects.
    scope = ScopeSpec(project="company__projects", company="company")

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("company"))
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("answer"))
    category = models.ForeignKey("aftersales.ProblemCategory", on_delete=models.SET_NULL,
                                 null=True, blank=True, related_name="articles",
                                 verbose_name=_("problem category"))
    keywords = models.CharField(_("keywords"), max_length=200, blank=True,
                                help_text=_("Words owners use, separated by spaces."))
    is_published = models.BooleanField(_("published"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("written by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["title", "id"]
        verbose_name = _("knowledge article")
        verbose_name_plural = _("knowledge articles")
        indexes = [models.Index(fields=["company", "is_published"], name="kb_company_idx"),
                   models.Index(fields=["category", "is_published"], name="kb_category_idx")]

    def __str__(self) -> str:
        return self.title


# --- surveys ------------------------------------------------------------------------------------
class SurveyTrigger(models.TextChoices):
    CALLBACK = "callback", _("after a callback")
    HANDOVER = "handover", _("after handover")
    YEARLY = "yearly", _("yearly")
    MANUAL = "manual", _("sent by hand")


class SurveyTemplate(models.Model):
    scope = ScopeSpec(project="company__projects", company="company")

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("company"))
    name = models.CharField(_("name"), max_length=100)
    trigger = models.CharField(_("sent"), max_length=16, choices=SurveyTrigger.choices)
    intro = models.TextField(_("introduction"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["company", "name", "id"]
        verbose_name = _("survey template")
        verbose_name_plural = _("survey templates")
        constraints = [
            # One active template per company and trigger: the sender knows which to use.
            models.UniqueConstraint(fields=["company", "trigger"], condition=Q(is_active=True),
                                    name="survey_template_one_active_per_trigger"),
        ]

    def __str__(self) -> str:
        return self.name


class SurveyQuestion(models.Model):
    class Kind(models.TextChoices):
        NPS = "nps", _("recommend 0–10 (NPS)")
        SCALE = "scale", _("satisfaction 1–5 (CSAT)")
        CHOICE = "choice", _("one choice")
        TEXT = "text", _("free text")

    template = models.ForeignKey(SurveyTemplate, on_delete=models.CASCADE,
                                 related_name="questions", verbose_name=_("survey"))
    position = models.PositiveSmallIntegerField(_("position"), default=1)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    text = models.CharField(_("question"), max_length=200)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=True)

    class Meta:
        ordering = ["template", "position", "id"]
        verbose_name = _("survey question")
        verbose_name_plural = _("survey questions")

    def __str__(self) -> str:
        return self.text


class SurveyInvitation(models.Model):
    """One survey sent to one customer, answered once through its link (token)."""

    scope = ScopeSpec(project="project", company="project__company")

    template = models.ForeignKey(SurveyTemplate, on_delete=models.PROTECT,
                                 related_name="invitations", verbose_name=_("survey"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE,
                                 related_name="survey_invitations", verbose_name=_("customer"))
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("project"))
    trigger = models.CharField(_("sent"), max_length=16, choices=SurveyTrigger.choices)
    # What it follows: "ticket:12", "handover:3", "year:2026"; one invitation per thing.
    reference = models.CharField(_("reference"), max_length=40)
    token = models.CharField(max_length=64, unique=True)
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        constraints = [
            models.UniqueConstraint(fields=["customer", "template", "reference"],
                                    name="survey_invitation_once"),
        ]
        indexes = [models.Index(fields=["customer", "-sent_at"], name="survey_inv_customer_idx")]

    def __str__(self) -> str:
        return f"{self.template_id}:{self.customer_id}:{self.reference}"


class SurveyResponse(models.Model):
    """The answers of one invitation, with the NPS and CSAT figures kept for reports."""

    scope = ScopeSpec(project="project", company="project__company")

    invitation = models.OneToOneField(SurveyInvitation, on_delete=models.CASCADE,
                                      related_name="response", verbose_name=_("invitation"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE,
                                 related_name="survey_responses", verbose_name=_("customer"))
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("project"))
    trigger = models.CharField(_("sent"), max_length=16, choices=SurveyTrigger.choices)
    nps_score = models.PositiveSmallIntegerField(_("recommend (0–10)"), null=True, blank=True)
    csat_score = models.DecimalField(_("satisfaction (1–5)"), max_digits=3, decimal_places=2,
                                     null=True, blank=True)
    # CSAT's counts, kept with the response so a year of them is one aggregate, no join:
    # how many 1–5 answers it has, and how many of them are 4 or 5.
    scale_answers = models.PositiveSmallIntegerField(default=0, editable=False)
    scale_satisfied = models.PositiveSmallIntegerField(default=0, editable=False)
    submitted_at = models.DateTimeField(_("answered at"), auto_now_add=True, db_index=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        indexes = [models.Index(fields=["project", "submitted_at"], name="survey_resp_proj_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(nps_score__isnull=True) | Q(nps_score__lte=10),
                                   name="survey_nps_range"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.submitted_at:%Y-%m-%d}"


class SurveyAnswer(models.Model):
    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE,
                                 related_name="answers", verbose_name=_("response"))
    question = models.ForeignKey(SurveyQuestion, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("question"))
    number = models.SmallIntegerField(_("score"), null=True, blank=True)
    text = models.TextField(_("answer"), blank=True)

    class Meta:
        ordering = ["response", "question__position", "id"]
        constraints = [models.UniqueConstraint(fields=["response", "question"],
                                               name="survey_answer_once")]

    def __str__(self) -> str:
        return str(self.number if self.number is not None else self.text[:20])


# --- handover (交付) -------------------------------------------------------------------------
class ChecklistTemplate(models.Model):
    """The on-site inspection checklist of a project (or, without a project, the company's
    default): rooms in order, each with the items checked in it, in order.

    `rooms` is `[{"room": "客厅", "items": ["墙面", "地面"]}, ...]`; every write goes through
    `care.services.checklist_change` with the row locked, so two admins editing at once do
    not lose each other's changes. A batch copies the checklist in force when it is created
    (`HandoverBatch.checklist`), so later edits never change an inspection in progress."""

    scope = ScopeSpec(project="project", company="company")

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+",
                                verbose_name=_("company"))
    project = models.ForeignKey(Project, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="+", verbose_name=_("project"))
    rooms = models.JSONField(_("rooms and items"), default=list)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("changed by"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["company", "project", "id"]
        verbose_name = _("inspection checklist")
        verbose_name_plural = _("inspection checklists")
        constraints = [
            models.UniqueConstraint(fields=["project"], condition=Q(project__isnull=False),
                                    name="checklist_one_per_project"),
            models.UniqueConstraint(fields=["company"], condition=Q(project__isnull=True),
                                    name="checklist_one_default_per_company"),
        ]

    def __str__(self) -> str:
        return f"{self.company_id}:{self.project_id or '-'}"


class HandoverBatch(models.Model):
    scope = ScopeSpec(project="project", company="project__company")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("project"))
    building = models.ForeignKey("property.Building", on_delete=models.PROTECT,
                                 related_name="handover_batches", verbose_name=_("building"))
    name = models.CharField(_("name"), max_length=100)
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices,
                              default=Status.OPEN)
    # The checklist in force when the batch was created (same shape as
    # `ChecklistTemplate.rooms`): its inspections read this copy, never the live template.
    checklist = models.JSONField(_("inspection checklist"), default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("handover batch")
        verbose_name_plural = _("handover batches")
        constraints = [models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")),
                                              name="handover_batch_dates_ordered")]

    def __str__(self) -> str:
        return self.name


class HandoverSlot(models.Model):
    """An appointment window; `booked` counts the units booked into it, never above capacity."""

    scope = ScopeSpec(project="batch__project", company="batch__project__company")

    batch = models.ForeignKey(HandoverBatch, on_delete=models.CASCADE, related_name="slots",
                              verbose_name=_("batch"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveSmallIntegerField(_("capacity"))
    booked = models.PositiveSmallIntegerField(_("booked"), default=0)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["batch", "starts_at", "id"]
        verbose_name = _("appointment slot")
        verbose_name_plural = _("appointment slots")
        constraints = [
            models.CheckConstraint(condition=Q(booked__lte=F("capacity")),
                                   name="handover_slot_not_overbooked"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")),
                                   name="handover_slot_times_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)


class HandoverUnit(models.Model):
    """One unit of a batch, moving through the stages of its handover."""

    scope = ScopeSpec(project="batch__project", company="batch__project__company")

    class Stage(models.TextChoices):
        WAITING = "waiting", _("waiting for a booking")
        BOOKED = "booked", _("booked")
        INSPECTED = "inspected", _("inspected")
        KEYS = "keys", _("keys handed over")
        SIGNED = "signed", _("signed off")

    batch = models.ForeignKey(HandoverBatch, on_delete=models.CASCADE, related_name="units",
                              verbose_name=_("batch"))
    unit = models.ForeignKey("property.Unit", on_delete=models.PROTECT,
                             related_name="handovers", verbose_name=_("unit"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 null=True, blank=True, related_name="handovers",
                                 verbose_name=_("owner"))
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices,
                             default=Stage.WAITING)
    slot = models.ForeignKey(HandoverSlot, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="bookings", verbose_name=_("appointment"))
    booked_at = models.DateTimeField(_("booked at"), null=True, blank=True)
    inspected_at = models.DateTimeField(_("inspected at"), null=True, blank=True)
    keys_handed_at = models.DateTimeField(_("keys handed over at"), null=True, blank=True)
    key_count = models.PositiveSmallIntegerField(_("keys"), null=True, blank=True)
    signed_at = models.DateTimeField(_("signed off at"), null=True, blank=True)
    signed_by = models.CharField(_("signed by"), max_length=50, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["batch", "unit__floor", "unit__position", "id"]
        verbose_name = _("unit in a handover batch")
        verbose_name_plural = _("units in handover batches")
        constraints = [
            models.UniqueConstraint(fields=["batch", "unit"], name="handover_unit_once"),
            # A booking names its slot; a walk-in may be inspected without one.
            models.CheckConstraint(condition=~Q(stage="booked") | Q(slot__isnull=False),
                                   name="handover_unit_booking_has_slot"),
        ]
        indexes = [models.Index(fields=["batch", "stage"], name="handover_unit_stage_idx")]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.unit_id}"


class HandoverInspectionItem(models.Model):
    """One line of the on-site checklist of a unit: a room, what was checked, and the result."""

    class Result(models.TextChoices):
        OK = "ok", _("fine")
        ISSUE = "issue", _("issue found")

    handover = models.ForeignKey(HandoverUnit, on_delete=models.CASCADE,
                                 related_name="inspection_items", verbose_name=_("handover"))
    room = models.CharField(_("room"), max_length=30)
    item = models.CharField(_("item"), max_length=50)
    result = models.CharField(_("result"), max_length=8, choices=Result.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    ticket_id = models.PositiveBigIntegerField(_("repair ticket"), null=True, blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("checked by"))
    checked_at = models.DateTimeField(_("checked at"), auto_now_add=True)

    class Meta:
        ordering = ["handover", "id"]
        verbose_name = _("inspection item")
        verbose_name_plural = _("inspection items")
        constraints = [models.UniqueConstraint(fields=["handover", "room", "item"],
                                               name="handover_item_once")]

    def __str__(self) -> str:
        return f"{self.room} {self.item}: {self.result}"


class HandoverEvent(models.Model):
    """The handover's history, append-only: what happened to one unit's handover and who did
    it, from the appointment to the sign-off (which records here whether the sales deal was
    delivered, or why not)."""

    class Kind(models.TextChoices):
        BOOKED = "booked", _("appointment booked")
        REBOOKED = "rebooked", _("appointment moved")
        UNBOOKED = "unbooked", _("appointment cancelled")
        INSPECTED = "inspected", _("inspected")
        KEYS = "keys", _("keys handed over")
        SIGNED = "signed", _("signed off")
        DELIVERED = "delivered", _("deal delivered")
        NO_DEAL = "no_deal", _("no deal in Anju")

    handover = models.ForeignKey(HandoverUnit, on_delete=models.CASCADE,
                                 related_name="events", verbose_name=_("handover"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    message = models.CharField(_("message"), max_length=300)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                              null=True, blank=True, related_name="+", verbose_name=_("by"))
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        ordering = ["handover", "created_at", "id"]
        verbose_name = _("handover event")
        verbose_name_plural = _("handover events")

    def __str__(self) -> str:
        return f"{self.handover_id}:{self.kind}"
