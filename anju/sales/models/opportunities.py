"""Sales models: opportunities (商机) with their stage history, win probabilities, the funnel's
pre-aggregated cells, discount policies and quotes (报价).

Rows change only through `anju.sales.opportunities.services`; the stage, the history, the
funnel cells and a quote's approval are kept in step there, in one transaction."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from anju.accounts.models import Company, Project, Role
from anju.core.models import TimeStampedModel, VersionedModel
from anju.core.scoping import ScopedQuerySet, ScopeSpec

__all__ = [
    "DiscountPolicy",
    "FunnelCell",
    "LostReason",
    "Opportunity",
    "OpportunityStage",
    "OpportunityStageChange",
    "PaymentMethod",
    "Quote",
    "QuoteDiscount",
    "StageProbability",
]

MONEY = {"max_digits": 14, "decimal_places": 2}
PERCENT = {"max_digits": 5, "decimal_places": 2,
           "validators": [MinValueValidator(0), MaxValueValidator(100)]}


class OpportunityStage(models.TextChoices):
    FIRST_VISIT = "first_visit", _("first visit")
    NEEDS_CONFIRMED = "needs_confirmed", _("needs confirmed")
    UNITS_RECOMMENDED = "units_recommended", _("units recommended")
    NEGOTIATION = "negotiation", _("negotiation")
    RESERVED = "reserved", _("reserved")
    CONTRACTED = "contracted", _("contracted")
    WON = "won", _("won")
    LOST = "lost", _("lost")


class LostReason(models.TextChoices):
    PRICE = "price", _("price too high")
    LOCATION = "location", _("location")
    UNIT = "unit", _("no suitable unit")
    COMPETITOR = "competitor", _("bought elsewhere")
    FINANCING = "financing", _("financing failed")
    TIMING = "timing", _("not buying now")
    UNREACHABLE = "unreachable", _("cannot be reached")
    DUPLICATE = "duplicate", _("duplicate (customers merged)")
    OTHER = "other", _("other")


class Opportunity(VersionedModel):
    """One customer's intent to buy in one project, moving through the stages."""

    scope = ScopeSpec(owner="owner", project="project", company="project__company")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="opportunities", verbose_name=_("customer"))
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="opportunities",
                                verbose_name=_("project"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="opportunities",
                              verbose_name=_("consultant"))
    stage = models.CharField(_("stage"), max_length=20, choices=OpportunityStage.choices,
                             default=OpportunityStage.FIRST_VISIT)
    stage_entered_at = models.DateTimeField(_("in this stage since"))
    # Highest rank of the main path reached so far (first visit 1 … won 7): the funnel counts
    # an opportunity at every stage up to it, once, whatever moves back and forth.
    reached_rank = models.PositiveSmallIntegerField(default=1, editable=False)
    expected_value = models.DecimalField(_("expected value (yuan)"), null=True, blank=True,
                                         **MONEY)
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    lost_reason = models.CharField(_("lost reason"), max_length=16, choices=LostReason.choices,
                                   blank=True)
    lost_note = models.CharField(_("lost note"), max_length=500, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        constraints = [
            # one open opportunity per customer and project (won and lost ones are history)
            models.UniqueConstraint(
                fields=["customer", "project"], name="opportunity_one_open_per_project",
                condition=~Q(stage__in=["won", "lost"])),
            models.CheckConstraint(condition=~Q(stage="lost") | ~Q(lost_reason=""),
                                   name="opportunity_lost_has_reason"),
        ]
        indexes = [
            # the list (newest first) for a consultant, a project, a stage
            models.Index(fields=["owner", "-id"], name="opportunity_owner_idx"),
            models.Index(fields=["project", "-id"], name="opportunity_project_idx"),
            models.Index(fields=["stage", "-id"], name="opportunity_stage_idx"),
            # the kanban's columns: most recently moved first, per stage
            models.Index(fields=["owner", "stage", "-stage_entered_at"],
                         name="opportunity_owner_moved_idx"),
            models.Index(fields=["project", "stage", "-stage_entered_at"],
                         name="opportunity_project_moved_idx"),
            models.Index(fields=["stage", "-stage_entered_at"], name="opportunity_moved_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.project_id}"

    @property
    def is_open(self) -> bool:
        return self.stage not in (OpportunityStage.WON, OpportunityStage.LOST)


class OpportunityStageChange(models.Model):
    """Append-only history of an opportunity's stages: from, to, who, when, and how long it
    had stayed in the stage it left (for time in stage)."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE,
                                    related_name="stage_changes")
    from_stage = models.CharField(_("from"), max_length=20, choices=OpportunityStage.choices,
                                  blank=True)
    to_stage = models.CharField(_("to"), max_length=20, choices=OpportunityStage.choices)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("by"))
    changed_at = models.DateTimeField(_("when"))
    seconds_in_from_stage = models.PositiveBigIntegerField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["opportunity", "changed_at", "id"],
                                name="opportunity_history_idx")]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage or '∅'} → {self.to_stage}"


class StageProbability(models.Model):
    """Win probability of a stage, per company or (company empty) for every company; stages
    without a row use `opportunities.services.DEFAULT_PROBABILITIES`."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="+", verbose_name=_("company"))
    stage = models.CharField(_("stage"), max_length=20, choices=OpportunityStage.choices)
    probability = models.PositiveSmallIntegerField(
        _("win probability (%)"), validators=[MaxValueValidator(100)])

    class Meta:
        verbose_name = _("win probability")
        verbose_name_plural = _("win probabilities")
        constraints = [
            models.UniqueConstraint(fields=["company", "stage"],
                                    name="stage_probability_unique_per_company"),
            models.UniqueConstraint(fields=["stage"], condition=Q(company__isnull=True),
                                    name="stage_probability_unique_global"),
        ]

    def __str__(self) -> str:
        return f"{self.stage}: {self.probability}%"


# Upper bounds (seconds) of the duration buckets of FunnelCell: the median time in a stage is
# interpolated inside the bucket that holds it. The last bucket is open.
HOUR, DAY = 3600, 86400
DURATION_BUCKETS = (HOUR, 6 * HOUR, DAY, 2 * DAY, 3 * DAY, 5 * DAY, 7 * DAY, 10 * DAY,
                    14 * DAY, 21 * DAY, 30 * DAY, 45 * DAY, 60 * DAY, 90 * DAY, 180 * DAY,
                    None)
BUCKET_FIELDS = tuple(f"b{index:02d}" for index in range(len(DURATION_BUCKETS)))


class FunnelCell(models.Model):
    """Pre-aggregated funnel: per month an opportunity was opened (Asia/Shanghai), project,
    consultant and stage, how many reached the stage, how many are in it now, and how long
    the finished stays in it took (count, sum, duration buckets). Written by the stage-move
    services in the transaction of the move, so the funnel reads a few hundred rows instead
    of every opportunity (docs/sales-opportunities.md)."""

    scope = ScopeSpec(owner="owner_key", project="project", company="project__company")

    month = models.DateField()
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    # the consultant's id (0: none); a plain column so the key is unique on both databases
    owner_key = models.PositiveIntegerField(default=0)
    stage = models.CharField(max_length=20, choices=OpportunityStage.choices)
    reached = models.IntegerField(default=0)
    current = models.IntegerField(default=0)
    # the expected value of those in the stage now (the kanban's column totals)
    current_value = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    stays = models.IntegerField(default=0)
    stay_seconds = models.BigIntegerField(default=0)
    b00 = models.IntegerField(default=0)
    b01 = models.IntegerField(default=0)
    b02 = models.IntegerField(default=0)
    b03 = models.IntegerField(default=0)
    b04 = models.IntegerField(default=0)
    b05 = models.IntegerField(default=0)
    b06 = models.IntegerField(default=0)
    b07 = models.IntegerField(default=0)
    b08 = models.IntegerField(default=0)
    b09 = models.IntegerField(default=0)
    b10 = models.IntegerField(default=0)
    b11 = models.IntegerField(default=0)
    b12 = models.IntegerField(default=0)
    b13 = models.IntegerField(default=0)
    b14 = models.IntegerField(default=0)
    b15 = models.IntegerField(default=0)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "project", "owner_key", "stage"],
                                               name="funnel_cell_unique")]
        indexes = [models.Index(fields=["project", "month"], name="funnel_cell_project_idx"),
                   models.Index(fields=["owner_key", "month"], name="funnel_cell_owner_idx")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} p{self.project_id} u{self.owner_key} {self.stage}"


class PaymentMethod(models.TextChoices):
    FULL = "full", _("full payment")
    INSTALMENTS = "instalments", _("instalments")
    MORTGAGE = "mortgage", _("commercial mortgage")
    PROVIDENT_FUND = "provident_fund", _("provident fund loan")


class DiscountPolicy(models.Model):
    """The largest discount (% of the list price) a role may give without approval, for one
    payment method or (method empty) for any; configured by admins."""

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("role"))
    payment_method = models.CharField(_("payment method"), max_length=16,
                                      choices=PaymentMethod.choices, blank=True)
    max_discount_percent = models.DecimalField(_("largest discount (%)"), **PERCENT)

    class Meta:
        verbose_name = _("discount policy")
        verbose_name_plural = _("discount policies")
        constraints = [models.UniqueConstraint(fields=["role", "payment_method"],
                                               name="discount_policy_unique")]

    def __str__(self) -> str:
        return f"{self.role_id}/{self.payment_method or '*'}: {self.max_discount_percent}%"

class Quote(TimeStampedModel):
    """A price offered for one unit to the customer of an opportunity (报价)."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("issued")
        PENDING = "pending", _("awaiting approval")
        REJECTED = "rejected", _("rejected")

    scope = ScopeSpec(owner="opportunity__owner", project="opportunity__project",
                      company="opportunity__project__company")

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE,
                                    related_name="quotes", verbose_name=_("opportunity"))
    unit = models.ForeignKey("property.Unit", on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("unit"))
    payment_method = models.CharField(_("payment method"), max_length=16,
                                      choices=PaymentMethod.choices)
    list_price = models.DecimalField(_("list price"), **MONEY)
    discount_amount = models.DecimalField(_("discount"), **MONEY)
    final_price = models.DecimalField(_("price after discounts"), **MONEY)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=7, decimal_places=4)
    allowed_percent = models.DecimalField(_("discount allowed for the role (%)"),
                                          max_digits=5, decimal_places=2)
    below_floor_price = models.BooleanField(_("below the floor price"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("quoted by"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_comment = models.CharField(_("comment"), max_length=500, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-id"], name="quote_status_idx")]

    def __str__(self) -> str:
        return f"Q{self.pk:06d}" if self.pk else "Q"

    @property
    def number(self) -> str:
        return f"Q{self.pk:06d}"


class QuoteDiscount(models.Model):
    """One line of a quote's discounts, applied in order: a percentage of the price so far
    (e.g. 一次性付款 98折 is 2 %) or a fixed amount off."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="discounts")
    position = models.PositiveSmallIntegerField(default=0)
    label = models.CharField(_("discount"), max_length=100)
    percent = models.DecimalField(_("percent off"), null=True, blank=True, **PERCENT)
    amount = models.DecimalField(_("amount off"), null=True, blank=True, **MONEY)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label
