"""The intake queue of outside sources (`intake.py`): what a source posted, checked and kept
at once, then made into a lead by the background worker in batches."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Lead, LeadSource, Timing


class LeadIntake(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("waiting")
        DONE = "done", _("captured")
        REJECTED = "rejected", _("refused")

    source = models.ForeignKey(LeadSource, on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("lead source"))
    idempotency_key = models.CharField(max_length=100, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=32)
    budget_wan = models.DecimalField(_("budget (万元)"), max_digits=10, decimal_places=1,
                                     null=True, blank=True)
    timing = models.CharField(_("when buying"), max_length=8, choices=Timing.choices,
                              blank=True)
    unit_type = models.CharField(_("unit type wanted"), max_length=50, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    state = models.CharField(_("state"), max_length=8, choices=State.choices,
                             default=State.PENDING)
    claim = models.CharField(max_length=32, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    lead = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+", verbose_name=_("lead"))
    duplicate = models.BooleanField(null=True)
    error = models.TextField(_("why refused"), blank=True)

    class Meta:
        verbose_name = _("lead intake")
        verbose_name_plural = _("lead intake")
        constraints = [
            models.UniqueConstraint(fields=["source", "idempotency_key"],
                                    condition=~Q(idempotency_key=""),
                                    name="lead_intake_source_idempotency_key"),
        ]
        indexes = [
            models.Index(fields=["id"], condition=Q(state="pending"),
                         name="lead_intake_pending_idx"),
            models.Index(fields=["received_at"], name="lead_intake_received_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}/{self.pk} {self.state}"
