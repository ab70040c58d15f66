"""The deal pages' forms: they parse, the services decide."""

import datetime
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.money import format_yuan, to_fen
from anju.sales.models.deals import (
    DealChangeRequest,
    DealPaymentMethod,
    DealStatus,
    Instalment,
    LoanStatus,
    Payment,
)

from .services import InstalmentLine

# browsers' date pickers take ISO values whatever the page's language
DATE_INPUT = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
DATETIME_INPUT = forms.DateTimeInput(format="%Y-%m-%dT%H:%M", attrs={"type": "datetime-local"})
DEPOSIT_METHODS = [(value, label) for value, label in Payment.Method.choices
                   if value != Payment.Method.LOAN]


class MoneyField(forms.DecimalField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0"))
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, str):
            value = value.replace(",", "").replace("¥", "").strip()
        return super().to_python(value)


class CustomerChoiceMixin(forms.Form):
    """A customer chosen from the search results (radio buttons named `customer`)."""

    customer = forms.IntegerField(label=_("customer"), min_value=1,
                                  error_messages={"required": _("Search and choose a customer.")})


class HoldForm(CustomerChoiceMixin):
    hours = forms.IntegerField(label=_("hold for (hours)"), min_value=1, max_value=72,
                               initial=24)
    note = forms.CharField(label=_("note"), max_length=200, required=False)


class ReserveForm(forms.Form):
    deposit = MoneyField(label=_("deposit (yuan)"), min_value=Decimal("0.01"))
    discount_amount = MoneyField(label=_("discount (yuan)"), required=False, initial=0)
    discount_note = forms.CharField(label=_("discount note"), max_length=200, required=False)
    expires_on = forms.DateField(label=_("reservation valid until"),
                                 widget=DATE_INPUT)
    method = forms.ChoiceField(label=_("deposit paid by"), choices=DEPOSIT_METHODS,
                               initial=Payment.Method.TRANSFER)

    def __init__(self, *args, **kwargs):
        from .services import reservation_days

        super().__init__(*args, **kwargs)
        self.fields["expires_on"].initial = (timezone.localdate()
                                             + datetime.timedelta(days=reservation_days()))


class UnitReserveForm(CustomerChoiceMixin, ReserveForm):
    pass


class ContractForm(forms.Form):
    payment_method = forms.ChoiceField(label=_("payment method"),
                                       choices=DealPaymentMethod.choices)
    discount_amount = MoneyField(label=_("discount (yuan)"), required=False)
    discount_note = forms.CharField(label=_("discount note"), max_length=200, required=False)
    signed_on = forms.DateField(label=_("signed on"),
                                widget=DATE_INPUT)


class BuyerForm(forms.Form):
    customer = forms.IntegerField(label=_("buyer"), min_value=1, required=False)
    share = forms.DecimalField(label=_("share (%)"), max_digits=5, decimal_places=2,
                               min_value=Decimal("0.01"), max_value=Decimal("100"),
                               required=False)

    def clean(self):
        data = super().clean()
        if data.get("customer") and data.get("share") is None:
            self.add_error("share", _("Enter the buyer's share."))
        if data.get("share") is not None and not data.get("customer"):
            self.add_error("customer", _("Choose the buyer."))
        return data


class InstalmentForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), required=False, choices=[("", "—")] + [
        choice for choice in Instalment.Kind.choices if choice[0] != Instalment.Kind.DEPOSIT])
    due_date = forms.DateField(label=_("due date"), required=False,
                               widget=DATE_INPUT)
    amount = MoneyField(label=_("amount (yuan)"), required=False,
                        widget=forms.TextInput(attrs={"inputmode": "decimal",
                                                      "class": "plan-amount"}))
    bank = forms.CharField(label=_("bank"), max_length=100, required=False)

    def clean(self):
        data = super().clean()
        filled = [name for name in ("kind", "due_date", "amount") if data.get(name)]
        if filled and len(filled) < 3:
            for name in ("kind", "due_date", "amount"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("This field is required."))
        return data

    def line(self) -> InstalmentLine | None:
        data = self.cleaned_data
        if not data.get("kind"):
            return None
        return InstalmentLine(kind=data["kind"], due_date=data["due_date"],
                              amount=data["amount"], bank=data.get("bank") or "")


BuyerFormSet = forms.formset_factory(BuyerForm, extra=0, max_num=10, absolute_max=10)
InstalmentFormSet = forms.formset_factory(InstalmentForm, extra=0, max_num=36,
                                          absolute_max=36)


def suggested_plan(deal, method: str) -> list[dict]:
    """A starting plan that adds up to the price: 30 % down (less the deposit) in a week,
    then by the payment method (one full payment, a loan, or two instalments)."""
    today = timezone.localdate()
    rest = deal.final_price - deal.deposit
    if method == DealPaymentMethod.FULL:
        return [{"kind": "full", "due_date": today + datetime.timedelta(days=7), "amount": rest}]
    down = max(to_fen(deal.final_price * Decimal("0.3")) - deal.deposit, Decimal("0.01"))
    down = min(down, rest)
    rows = [{"kind": "down_payment", "due_date": today + datetime.timedelta(days=7),
             "amount": down}]
    if rest - down <= 0:
        return rows
    if method in (DealPaymentMethod.MORTGAGE, DealPaymentMethod.PROVIDENT_FUND):
        rows.append({"kind": "loan", "due_date": today + datetime.timedelta(days=60),
                     "amount": rest - down, "bank": ""})
    else:
        half = to_fen((rest - down) / 2)
        rows += [{"kind": "instalment", "due_date": today + datetime.timedelta(days=90),
                  "amount": half},
                 {"kind": "instalment", "due_date": today + datetime.timedelta(days=180),
                  "amount": rest - down - half}]
    return rows


class PaymentForm(forms.Form):
    amount = MoneyField(label=_("amount (yuan)"), min_value=Decimal("0.01"))
    method = forms.ChoiceField(label=_("method"), choices=DEPOSIT_METHODS,
                               initial=Payment.Method.TRANSFER)
    paid_at = forms.DateTimeField(label=_("paid at"), required=False,
                                  widget=DATETIME_INPUT)
    note = forms.CharField(label=_("note"), max_length=200, required=False)


class LoanStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("loan status"), choices=LoanStatus.choices)
    bank = forms.CharField(label=_("bank"), max_length=100, required=False)


class ChangeRequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=DealChangeRequest.Kind.choices)
    reason = forms.CharField(label=_("reason"), max_length=300,
                             widget=forms.Textarea(attrs={"rows": 3}))
    refund_amount = MoneyField(label=_("refund (yuan)"), required=False)
    target_unit = forms.TypedChoiceField(label=_("new unit"), required=False, coerce=int,
                                         empty_value=None, choices=[])

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_unit"].choices = [("", "—")] + [
            (unit.pk, f"{unit.label} · {format_yuan(unit.list_price)}") for unit in units]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("approve")), ("reject", _("reject"))])
    comment = forms.CharField(label=_("comment"), max_length=300, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))


class CollectionForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=[("call", _("call")),
                                                      ("visit", _("visit")),
                                                      ("wechat", _("WeChat")),
                                                      ("sms", _("SMS"))])
    outcome = forms.CharField(label=_("outcome"), max_length=150, required=False)
    next_follow_up_at = forms.DateTimeField(
        label=_("next follow-up"), required=False,
        widget=DATETIME_INPUT)


class DealFilterForm(forms.Form):
    q = forms.CharField(label=_("unit, customer or contract"), required=False, max_length=50)
    status = forms.ChoiceField(label=_("status"), required=False,
                               choices=[("", _("any status")), *DealStatus.choices])
    project = forms.TypedChoiceField(label=_("project"), required=False, coerce=int,
                                     empty_value=None, choices=[])
    overdue = forms.BooleanField(label=_("with overdue instalments"), required=False)

    def __init__(self, *args, projects=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [("", _("any project"))] + [
            (project.pk, project.name) for project in projects]

    def filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        return {key: value for key, value in self.cleaned_data.items() if value}
