"""Forms of the opportunity pages: they parse; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from anju.core.locking import VersionedFormMixin
from anju.sales.models.opportunities import LostReason, OpportunityStage, PaymentMethod

OPEN_CHOICES = [(value, label) for value, label in OpportunityStage.choices
                if value in ("first_visit", "needs_confirmed", "units_recommended",
                             "negotiation")]


class OpportunityCreateForm(forms.Form):
    customer = forms.IntegerField(widget=forms.HiddenInput)
    project = forms.IntegerField(label=_("project"))
    stage = forms.ChoiceField(label=_("stage"), choices=OPEN_CHOICES, initial="first_visit")
    expected_value = forms.DecimalField(label=_("expected value (yuan)"), required=False,
                                        max_digits=14, decimal_places=2, min_value=0)
    expected_close_date = forms.DateField(label=_("expected close date"), required=False)


class MoveForm(forms.Form):
    stage = forms.ChoiceField(label=_("move to"), choices=OpportunityStage.choices)
    lost_reason = forms.ChoiceField(label=_("lost reason"), required=False,
                                    choices=[("", "—"), *LostReason.choices])
    lost_note = forms.CharField(label=_("lost note"), required=False, max_length=500)
    note = forms.CharField(label=_("note"), required=False, max_length=500)


class QuoteForm(forms.Form):
    """A unit, a payment method and up to three discount lines (name + % or amount)."""

    unit = forms.IntegerField(label=_("unit"))
    payment_method = forms.ChoiceField(label=_("payment method"), choices=PaymentMethod.choices)
    valid_until = forms.DateField(label=_("valid until"), required=False)
    note = forms.CharField(label=_("note"), required=False, max_length=500)
    LINES = 3

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for index in range(self.LINES):
            self.fields[f"discount_{index}_label"] = forms.CharField(
                label=_("discount"), required=False, max_length=100)
            self.fields[f"discount_{index}_percent"] = forms.DecimalField(
                label=_("percent off"), required=False, max_digits=5, decimal_places=2)
            self.fields[f"discount_{index}_amount"] = forms.DecimalField(
                label=_("amount off"), required=False, max_digits=14, decimal_places=2)

    def discounts(self) -> list[dict]:
        lines = []
        for index in range(self.LINES):
            label = self.cleaned_data.get(f"discount_{index}_label")
            percent = self.cleaned_data.get(f"discount_{index}_percent")
            amount = self.cleaned_data.get(f"discount_{index}_amount")
            if label or percent is not None or amount is not None:
                lines.append({"label": label, "percent": percent, "amount": amount})
        return lines


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("approve")), ("reject", _("reject"))])
    comment = forms.CharField(label=_("comment"), required=False, max_length=500)


class OpportunityEditForm(VersionedFormMixin, forms.Form):
    """Expected value, expected close date and consultant (the stage moves by MoveForm)."""

    expected_value = forms.DecimalField(label=_("expected value (yuan)"), required=False,
                                        max_digits=14, decimal_places=2, min_value=0)
    expected_close_date = forms.DateField(label=_("expected close date"), required=False,
                                          widget=forms.DateInput(attrs={"type": "date"}))
    owner = forms.ModelChoiceField(label=_("consultant"), queryset=None, required=False)

    def __init__(self, *args, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners
