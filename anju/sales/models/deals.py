"""Sales models: deals (小订 hold → 认购 reservation → 签约 contract → 回款 payments → 交付),
cancellations (退房) and swaps (换房).

Every write goes through `anju.sales.deals.services`; the database adds the one rule no code
path may break: a unit has at most one live deal (`deal_one_live_per_unit`, a partial unique
index on both SQLite and PostgreSQL; docs/decisions/0007-one-live-deal-per-unit.md)."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from anju.accounts.models import Project
from anju.core.scoping import ScopedQuerySet, ScopeSpec

__all__ = [
    "LIVE_STATUSES",
    "ContractNumberRule",
    "Deal",
    "DealBuyer",
    "DealChangeRequest",
    "DealEvent",
    "DealPaymentMethod",
    "DealStatus",
    "Instalment",
    "LoanStatus",
    "Payment",
]

MONEY = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")


class DealStatus(models.TextChoices):
    HELD = "held", _("held")
    RESERVED = "reserved", _("reserved")
    CONTRACTED = "contracted", _("contracted")
    DELIVERED = "delivered", _("delivered")
    CANCELLED = "cancelled", _("cancelled")
    SWAPPED = "swapped", _("swapped")
    EXPIRED = "expired", _("expired")


# A live deal holds its unit; at most one per unit (the partial unique index below).
LIVE_STATUSES = (DealStatus.HELD, DealStatus.RESERVED, DealStatus.CONTRACTED,
                 DealStatus.DELIVERED)


class DealPaymentMethod(models.TextChoices):
    """The same choices as a quote's `PaymentMethod` (opportunities)."""

    FULL = "full", _("full payment")
    INSTALMENTS = "instalments", _("instalments")
    MORTGAGE = "mortgage", _("commercial mortgage")
    PROVIDENT_FUND = "provident_fund", _("provident fund loan")


class Deal(models.Model):
    """One customer's purchase of one unit, from the hold to the handover."""

    scope = ScopeSpec(owner="consultant", project="project", company="project__company")

    unit = models.ForeignKey("property.Unit", on_delete=models.PROTECT, related_name="deals",
                             verbose_name=_("unit"))
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="deals",
                                verbose_name=_("project"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="deals", verbose_name=_("customer"))
    consultant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="deals", verbose_name=_("consultant"))
    status = models.CharField(_("status"), max_length=16, choices=DealStatus.choices)
    list_price = models.DecimalField(_("list price (yuan)"), **MONEY)
    discount_amount = models.DecimalField(_("discount (yuan)"), **MONEY, default=ZERO)
    discount_note = models.CharField(_("discount note"), max_length=200, blank=True)
    final_price = models.DecimalField(_("price (yuan)"), **MONEY)
    deposit = models.DecimalField(_("deposit (yuan)"), **MONEY, default=ZERO)
    payment_method = models.CharField(_("payment method"), max_length=16,
                                      choices=DealPaymentMethod.choices, blank=True)
    hold_expires_at = models.DateTimeField(_("hold expires at"), null=True, blank=True)
    reserved_at = models.DateTimeField(_("reserved at"), null=True, blank=True)
    reservation_expires_at = models.DateTimeField(_("reservation expires at"), null=True,
                                                  blank=True)
    contract_number = models.CharField(_("contract number"), max_length=40, blank=True)
    contracted_at = models.DateTimeField(_("contracted at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_reason = models.CharField(_("why it closed"), max_length=200, blank=True)
    refunded_amount = models.DecimalField(_("refunded (yuan)"), **MONEY, default=ZERO)
    swapped_from = models.OneToOneField("self", on_delete=models.PROTECT, null=True,
                                        blank=True, related_name="swapped_to",
                                        verbose_name=_("swapped from"))
    received_amount = models.DecimalField(_("received (yuan)"), **MONEY, default=ZERO)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        constraints = [
            # THE rule of the issue: no unit is ever sold twice, whatever writes the row.
            models.UniqueConstraint(fields=["unit"], condition=Q(status__in=LIVE_STATUSES),
                                    name="deal_one_live_per_unit"),
            models.UniqueConstraint(fields=["contract_number"], condition=~Q(contract_number=""),
                                    name="deal_contract_number_unique"),
            models.CheckConstraint(condition=Q(status__in=DealStatus.values),
                                   name="deal_status_known"),
            models.CheckConstraint(condition=Q(final_price__gte=0) & Q(deposit__gte=0)
                                   & Q(discount_amount__gte=0),
                                   name="deal_amounts_not_negative"),
            models.CheckConstraint(condition=Q(received_amount__lte=F("final_price")),
                                   name="deal_received_not_above_price"),
        ]
        indexes = [
            models.Index(fields=["consultant", "-id"], name="deal_consultant_idx"),
            models.Index(fields=["project", "status", "-id"], name="deal_project_status_idx"),
            models.Index(fields=["status", "hold_expires_at"], name="deal_hold_expiry_idx"),
            models.Index(fields=["status", "reservation_expires_at"],
                         name="deal_reservation_expiry_idx"),
        ]

    def __str__(self) -> str:
        return self.contract_number or f"#{self.pk}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def outstanding_amount(self) -> Decimal:
        return self.final_price - self.received_amount


class DealBuyer(models.Model):
    """One of the buyers named on the contract, with their share in percent (sum 100)."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="buyers",
                             verbose_name=_("deal"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="deal_shares", verbose_name=_("buyer"))
    share = models.DecimalField(_("share (%)"), max_digits=5, decimal_places=2,
                                validators=[MinValueValidator(Decimal("0.01")),
                                            MaxValueValidator(Decimal("100"))])
    is_primary = models.BooleanField(_("primary buyer"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = _("buyer")
        verbose_name_plural = _("buyers")
        constraints = [
            models.UniqueConstraint(fields=["deal", "customer"], name="deal_buyer_unique"),
            models.CheckConstraint(condition=Q(share__gt=0) & Q(share__lte=100),
                                   name="deal_buyer_share_range"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.share}%"


class LoanStatus(models.TextChoices):
    APPLIED = "applied", pgettext_lazy("loan", "applied")
    APPROVED = "approved", _("approved")
    DISBURSED = "disbursed", _("disbursed")
    REFUSED = "refused", _("refused")


class Instalment(models.Model):
    """One line of a contract's payment plan; the lines add up to the deal's price."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", _("deposit")
        DOWN_PAYMENT = "down_payment", _("down payment")
        INSTALMENT = "instalment", _("instalment")
        LOAN = "loan", _("loan")
        FULL = "full", _("full payment")

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="instalments",
                             verbose_name=_("deal"))
    sequence = models.PositiveSmallIntegerField(_("no."))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    due_date = models.DateField(_("due date"))
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)
    paid_amount = models.DecimalField(_("paid (yuan)"), **MONEY, default=ZERO)
    paid_at = models.DateTimeField(_("paid in full at"), null=True, blank=True)
    # the mortgage portion (kind = loan): bank and the loan's progress
    bank = models.CharField(_("bank"), max_length=100, blank=True)
    loan_status = models.CharField(_("loan status"), max_length=16, choices=LoanStatus.choices,
                                   blank=True)
    loan_status_at = models.DateTimeField(_("loan status since"), null=True, blank=True)
    overdue_flagged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["deal_id", "sequence"]
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        constraints = [
            models.UniqueConstraint(fields=["deal", "sequence"],
                                    name="instalment_sequence_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="instalment_amount_positive"),
            models.CheckConstraint(condition=Q(paid_amount__gte=0)
                                   & Q(paid_amount__lte=F("amount")),
                                   name="instalment_not_overpaid"),
        ]
        indexes = [models.Index(fields=["due_date"], condition=Q(paid_at__isnull=True),
                                name="instalment_open_due_idx")]

    def __str__(self) -> str:
        return f"{self.deal_id}/{self.sequence}"

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid_amount


class Payment(models.Model):
    """Money received (回款), against one instalment once the plan exists; the deposit paid
    at the reservation is recorded before the plan and attached to its deposit line later."""

    class Method(models.TextChoices):
        TRANSFER = "transfer", _("bank transfer")
        POS = "pos", _("card (POS)")
        CASH = "cash", _("cash")
        CHEQUE = "cheque", _("cheque")
        LOAN = "loan", _("loan disbursement")

    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="payments",
                             verbose_name=_("deal"))
    instalment = models.ForeignKey(Instalment, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="payments",
                                   verbose_name=_("instalment"))
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)
    paid_at = models.DateTimeField(_("paid at"))
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    receipt_number = models.CharField(_("receipt number"), max_length=40, unique=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("recorded by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-paid_at", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0),
                                              name="payment_amount_positive")]

    def __str__(self) -> str:
        return self.receipt_number


class DealEvent(models.Model):
    """Append-only timeline of a deal: every action with who, when and what."""

    class Kind(models.TextChoices):
        HELD = "held", _("held")
        RESERVED = "reserved", _("reserved")
        CONTRACTED = "contracted", _("contracted")
        PAYMENT = "payment", _("payment")
        LOAN = "loan", _("loan")
        DELIVERED = "delivered", _("delivered")
        EXPIRED = "expired", _("expired")
        CHANGE_REQUESTED = "change_requested", _("change requested")
        CHANGE_APPROVED = "change_approved", _("change approved")
        CHANGE_REJECTED = "change_rejected", _("change rejected")
        CANCELLED = "cancelled", _("cancelled")
        SWAPPED = "swapped", _("swapped")
        OVERDUE = "overdue", _("overdue")
        COLLECTION = "collection", _("collection follow-up")

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="events",
                             verbose_name=_("deal"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+", verbose_name=_("by"))
    message = models.CharField(_("what happened"), max_length=300)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["deal", "-id"], name="deal_event_timeline_idx")]
        verbose_name = _("deal event")
        verbose_name_plural = _("deal events")

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.kind}"


class DealChangeRequest(models.Model):
    """A cancellation (退房) or a swap (换房) waiting for, or given, an approver's decision."""

    scope = ScopeSpec(owner="deal__consultant", project="deal__project",
                      company="deal__project__company")

    class Kind(models.TextChoices):
        CANCELLATION = "cancellation", _("cancellation")
        SWAP = "swap", _("swap")

    class State(models.TextChoices):
        PENDING = "pending", _("waiting for approval")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="change_requests",
                             verbose_name=_("deal"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=300)
    refund_amount = models.DecimalField(_("refund (yuan)"), **MONEY, default=ZERO)
    target_unit = models.ForeignKey("property.Unit", on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+",
                                    verbose_name=_("new unit"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices,
                             default=State.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    comment = models.CharField(_("comment"), max_length=300, blank=True)
    new_deal = models.OneToOneField(Deal, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("new deal"))

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        constraints = [
            models.UniqueConstraint(fields=["deal"], condition=Q(state="pending"),
                                    name="deal_one_pending_change"),
            models.CheckConstraint(condition=Q(refund_amount__gte=0),
                                   name="change_refund_not_negative"),
            models.CheckConstraint(condition=Q(kind="cancellation") | Q(target_unit__isnull=False),
                                   name="swap_names_target_unit"),
        ]
        indexes = [models.Index(fields=["state", "-requested_at"],
                                name="deal_change_state_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.deal_id}"


class ContractNumberRule(models.Model):
    """How one project numbers its contracts and receipts: prefix, year, running number.

    The running numbers restart each year; `deals.numbering` takes the next one under a row
    lock, so two contracts signed at the same moment never share a number."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE,
                                   related_name="contract_number_rule",
                                   verbose_name=_("project"))
    prefix = models.CharField(_("contract prefix"), max_length=16)
    receipt_prefix = models.CharField(_("receipt prefix"), max_length=16)
    digits = models.PositiveSmallIntegerField(_("digits of the running number"), default=4,
                                              validators=[MinValueValidator(1),
                                                          MaxValueValidator(8)])
    year = models.PositiveSmallIntegerField(_("year"), default=0)
    last_contract = models.PositiveIntegerField(_("last contract number"), default=0)
    receipt_year = models.PositiveSmallIntegerField(_("receipt year"), default=0)
    last_receipt = models.PositiveIntegerField(_("last receipt number"), default=0)

    class Meta:
        verbose_name = _("contract number rule")
        verbose_name_plural = _("contract number rules")

    def __str__(self) -> str:
        return f"{self.prefix}YYYY-{'0' * self.digits}"
