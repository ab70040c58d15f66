"""The deal pages: list, detail with its timeline, hold/reserve from the board, contract with
buyers and a payment plan, payments and receipts, loan status, cancellation and swap with
approval, the contract PDF, and the customer lookup these forms use.

Thin: a form parses, a service decides, a selector reads. A refused action (the unit is
taken, the deal moved on) answers 409 with the reason on the form; bad input 400 with the
field named; nothing is half-written because every service is one transaction."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from anju.accounts.models import Project
from anju.core.forms import apply_service_errors
from anju.core.money import amount_in_words, format_wan
from anju.core.pdf import pdf_response
from anju.property.models import Unit

from . import selectors, services
from .forms import (
    BuyerFormSet,
    ChangeRequestForm,
    CollectionForm,
    ContractForm,
    DealFilterForm,
    DecisionForm,
    HoldForm,
    InstalmentFormSet,
    LoanStatusForm,
    PaymentForm,
    ReserveForm,
    UnitReserveForm,
    suggested_plan,
)
from .services import DealError


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _deal_or_404(request: HttpRequest, pk: int):
    deal = selectors.deal_get(viewer=request.user, pk=pk)
    if deal is None:
        raise Http404
    return deal


def _deal_for_form_or_404(request: HttpRequest, pk: int):
    deal = selectors.deal_for_form(viewer=request.user, pk=pk)
    if deal is None:
        raise Http404
    return deal


def _unit_or_404(request: HttpRequest, pk: int) -> Unit:
    unit = (Unit.objects.visible_to(request.user).select_related("building__project")
            .filter(pk=pk).first())
    if unit is None:
        raise Http404
    return unit


def _run(form, action) -> tuple[object | None, int]:
    """Runs a service for a valid form: (result, 200) or (None, 400/409) with the errors on
    the form."""
    try:
        return action(), 200
    except ValidationError as error:
        apply_service_errors(form, error)
        return None, 400
    except DealError as error:
        form.add_error(None, error.message)
        return None, 409


# --- list and detail --------------------------------------------------------------------------
@login_required
@require_GET
def deal_list(request: HttpRequest) -> HttpResponse:
    projects = Project.objects.visible_to(request.user).order_by("name")
    form = DealFilterForm(request.GET or None, projects=projects)
    cursor = request.GET.get("cursor")
    page = selectors.deal_list(viewer=request.user, filters=form.filters(),
                               cursor=int(cursor) if (cursor or "").isdigit() else None)
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(request, "sales/deals/list.html", {
        "form": form, "page": page, "query": query.urlencode()})


def _detail_context(request: HttpRequest, deal, **forms) -> dict:
    user = request.user
    pending = [r for r in deal.change_requests.all() if r.state == "pending"]
    context = {
        "deal": deal,
        "buyers": list(deal.buyers.all()),
        "instalments": list(deal.instalments.all()),
        "payments": list(deal.payments.all()),
        "events": list(deal.events.all()),
        "change_requests": list(deal.change_requests.all()),
        "pending_change": pending[0] if pending else None,
        "price_wan": format_wan(deal.final_price),
        "may_approve": user.may("approve_deals"),
        "payment_form": forms.get("payment_form") or PaymentForm(),
        "loan_form": forms.get("loan_form") or LoanStatusForm(),
        "collection_form": forms.get("collection_form") or CollectionForm(),
        "today": timezone.localdate(),
    }
    return context


@login_required
@require_GET
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal_or_404(request, pk)
    return render(request, "sales/deals/detail.html", _detail_context(request, deal))


# --- hold and reserve from the board ---------------------------------------------------------
def _customer_choice(request: HttpRequest, form) -> object | None:
    raw = form.data.get("customer") if form.is_bound else None
    if raw and str(raw).isdigit():
        return (selectors.Customer.objects.visible_to(request.user)
                .filter(pk=int(raw)).only("id", "name").first())
    return None


@login_required
@require_http_methods(["GET", "POST"])
def unit_hold(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _unit_or_404(request, pk)
    form = HoldForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        deal, status = _run(form, lambda: services.deal_hold(
            actor=request.user, unit=unit, customer=form.cleaned_data["customer"],
            hours=form.cleaned_data["hours"], note=form.cleaned_data["note"]))
        if deal is not None:
            messages.success(request, _("Unit %(unit)s is held for %(name)s.") % {
                "unit": unit.label, "name": deal.customer.name})
            return redirect("sales:deal_detail", pk=deal.pk)
    elif request.method == "POST":
        status = 400
    template = "sales/deals/_unit_form.html" if _is_htmx(request) else "sales/deals/unit_form.html"
    return render(request, template, {
        "unit": unit, "form": form, "action": "hold", "chosen": _customer_choice(request, form),
        "title": _("Hold %(unit)s for a customer") % {"unit": unit.label}}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def unit_reserve(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _unit_or_404(request, pk)
    form = UnitReserveForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        deal, status = _run(form, lambda: services.deal_reserve(
            actor=request.user, unit=unit, customer=data["customer"], deposit=data["deposit"],
            discount_amount=data.get("discount_amount") or 0,
            discount_note=data.get("discount_note") or "", expires_on=data["expires_on"],
            method=data["method"]))
        if deal is not None:
            messages.success(request, _("Unit %(unit)s is reserved for %(name)s.") % {
                "unit": unit.label, "name": deal.customer.name})
            return redirect("sales:deal_detail", pk=deal.pk)
    elif request.method == "POST":
        status = 400
    template = "sales/deals/_unit_form.html" if _is_htmx(request) else "sales/deals/unit_form.html"
    return render(request, template, {
        "unit": unit, "form": form, "action": "reserve",
        "chosen": _customer_choice(request, form),
        "title": _("Reserve %(unit)s for a customer") % {"unit": unit.label}}, status=status)


@login_required
@require_GET
def customer_lookup(request: HttpRequest) -> HttpResponse:
    """Search results as radio buttons named `field` (htmx, inside the deal forms)."""
    field = request.GET.get("field") or "customer"
    if not field.replace("-", "").replace("_", "").isalnum() or len(field) > 40:
        field = "customer"
    query = request.GET.get("q") or request.GET.get(f"{field}_q") or ""
    found = selectors.customers_for_deal(viewer=request.user, q=query)
    return render(request, "sales/deals/_customer_choices.html",
                  {"customers": found, "field": field, "q": query})


@login_required
@require_http_methods(["GET", "POST"])
def deal_reserve(request: HttpRequest, pk: int) -> HttpResponse:
    """Turns a hold into a reservation (deposit paid)."""
    deal = _deal_for_form_or_404(request, pk)
    if request.method == "GET" and deal.status != "held":
        messages.info(request, _("Only a held deal is reserved this way."))
        return redirect("sales:deal_detail", pk=deal.pk)
    form = ReserveForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        result, status = _run(form, lambda: services.deal_reserve(
            actor=request.user, deal=deal, deposit=data["deposit"],
            discount_amount=data.get("discount_amount") or 0,
            discount_note=data.get("discount_note") or "", expires_on=data["expires_on"],
            method=data["method"]))
        if result is not None:
            messages.success(request, _("Reserved."))
            return redirect("sales:deal_detail", pk=deal.pk)
    elif request.method == "POST":
        status = 400
    return render(request, "sales/deals/reserve.html", {"deal": deal, "form": form},
                  status=status)


# --- contract -------------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def deal_contract(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal_for_form_or_404(request, pk)
    if request.method == "GET" and deal.status != "reserved":
        messages.info(request, _("Only a reserved deal is contracted."))
        return redirect("sales:deal_detail", pk=deal.pk)
    buyer_errors: list[str] = []
    plan_errors: list[str] = []
    if request.method == "POST":
        form = ContractForm(request.POST)
        buyers = BuyerFormSet(request.POST, prefix="buyers")
        plan = InstalmentFormSet(request.POST, prefix="plan")
        status = 400
        if form.is_valid() & buyers.is_valid() & plan.is_valid():
            data = form.cleaned_data
            buyer_rows = [(row.cleaned_data["customer"], row.cleaned_data["share"])
                          for row in buyers if row.cleaned_data.get("customer")]
            lines = [line for row in plan if (line := row.line()) is not None]
            try:
                result, status = services.deal_contract(
                    actor=request.user, deal=deal, buyers=buyer_rows,
                    payment_method=data["payment_method"], instalments=lines,
                    discount_amount=data.get("discount_amount"),
                    discount_note=data.get("discount_note"), signed_on=data["signed_on"]), 200
            except DealError as error:
                form.add_error(None, error.message)
                result, status = None, 409
            except ValidationError as error:  # the rows' errors go under their tables
                errors = error.message_dict
                buyer_errors = errors.pop("buyers", [])
                plan_errors = errors.pop("instalments", [])
                if errors:
                    apply_service_errors(form, ValidationError(errors))
                result, status = None, 400
            if result is not None:
                messages.success(request, _("Contract %(number)s signed.") % {
                    "number": result.contract_number})
                return redirect("sales:deal_detail", pk=deal.pk)
    else:
        method = request.GET.get("method") or deal.payment_method or "mortgage"
        if method not in dict(ContractForm.base_fields["payment_method"].choices):
            method = "mortgage"
        form = ContractForm(initial={"payment_method": method, "signed_on": timezone.localdate(),
                                     "discount_amount": deal.discount_amount,
                                     "discount_note": deal.discount_note})
        buyers = BuyerFormSet(prefix="buyers", initial=[
            {"customer": deal.customer_id, "share": 100}, {}, {}])
        rows = suggested_plan(deal, method)
        plan = InstalmentFormSet(prefix="plan", initial=rows + [{}] * 3)
        status = 200
    names = {}
    ids = {row.initial.get("customer") or row.data.get(f"{row.prefix}-customer")
           for row in buyers.forms}
    ids = {int(value) for value in ids if value and str(value).isdigit()}
    if ids:
        names = dict(selectors.Customer.objects.visible_to(request.user)
                     .filter(pk__in=ids).values_list("pk", "name"))
    return render(request, "sales/deals/contract.html", {
        "deal": deal, "form": form, "buyers": buyers, "plan": plan, "names": names,
        "deposit": deal.deposit, "buyer_errors": buyer_errors, "plan_errors": plan_errors},
        status=status)


@login_required
@require_GET
def contract_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal_or_404(request, pk)
    if not deal.contract_number:
        raise Http404
    return pdf_response("sales/deals/pdf/contract.html", {
        "deal": deal, "buyers": list(deal.buyers.all()),
        "instalments": list(deal.instalments.all()),
        "price_words": amount_in_words(deal.final_price),
        "price_wan": format_wan(deal.final_price), "title": _("Purchase contract"),
    }, filename=f"{deal.contract_number}.pdf", request=request)


# --- payments, loan, handover, collection -----------------------------------------------------
def _instalment(deal, instalment_pk: int):
    for line in deal.instalments.all():
        if line.pk == instalment_pk:
            return line
    raise Http404


def _detail_with_errors(request, deal, status, **forms) -> HttpResponse:
    deal = _deal_or_404(request, deal.pk)
    return render(request, "sales/deals/detail.html", _detail_context(request, deal, **forms),
                  status=status)


@login_required
@require_POST
def payment_create(request: HttpRequest, pk: int, instalment_pk: int) -> HttpResponse:
    deal = _deal_or_404(request, pk)
    line = _instalment(deal, instalment_pk)
    form = PaymentForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        paid_at = data.get("paid_at")
        payment, status = _run(form, lambda: services.payment_record(
            actor=request.user, instalment=line, amount=data["amount"], method=data["method"],
            paid_at=paid_at, note=data.get("note") or ""))
        if payment is not None:
            messages.success(request, _("Payment recorded: receipt %(number)s.") % {
                "number": payment.receipt_number})
            return redirect("sales:deal_detail", pk=deal.pk)
    form.instalment_pk = line.pk
    return _detail_with_errors(request, deal, status, payment_form=form)


@login_required
@require_GET
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    payment = selectors.payment_get(viewer=request.user, pk=pk)
    if payment is None:
        raise Http404
    context = {"payment": payment, "deal": payment.deal,
               "amount_words": amount_in_words(payment.amount), "title": _("Receipt")}
    if request.GET.get("format") == "pdf":
        return pdf_response("sales/deals/pdf/receipt.html", context,
                            filename=f"{payment.receipt_number}.pdf", request=request)
    return render(request, "sales/deals/receipt.html", context)


@login_required
@require_POST
def loan_status(request: HttpRequest, pk: int, instalment_pk: int) -> HttpResponse:
    deal = _deal_or_404(request, pk)
    line = _instalment(deal, instalment_pk)
    form = LoanStatusForm(request.POST)
    status = 400
    if form.is_valid():
        result, status = _run(form, lambda: services.loan_status_set(
            actor=request.user, instalment=line, status=form.cleaned_data["status"],
            bank=form.cleaned_data.get("bank") or None))
        if result is not None:
            return redirect("sales:deal_detail", pk=deal.pk)
    return _detail_with_errors(request, deal, status, loan_form=form)


@login_required
@require_POST
def deal_deliver(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal_or_404(request, pk)
    try:
        services.deal_deliver(actor=request.user, deal=deal)
        messages.success(request, _("Handed over."))
    except (ValidationError, DealError) as error:
        text = error.message if isinstance(error, DealError) else " ".join(error.messages)
        messages.error(request, text)
    return redirect("sales:deal_detail", pk=deal.pk)


@login_required
@require_POST
def hold_release(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal_for_form_or_404(request, pk)
    try:
        services.deal_hold_release(actor=request.user, deal=deal,
                                   reason=request.POST.get("reason", ""))
        messages.success(request, _("The hold is released; the unit is available again."))
    except DealError as error:
        messages.error(request, error.message)
    return redirect("sales:deal_detail", pk=deal.pk)


@login_required
@require_POST
def collection_log(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal_or_404(request, pk)
    form = CollectionForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        result, status = _run(form, lambda: services.collection_follow_up_log(
            actor=request.user, deal=deal, kind=data["kind"], outcome=data.get("outcome", ""),
            next_follow_up_at=data.get("next_follow_up_at")))
        if result is not None:
            messages.success(request, _("Follow-up logged in the customer's interactions."))
            return redirect("sales:deal_detail", pk=deal.pk)
    return _detail_with_errors(request, deal, status, collection_form=form)


# --- cancellation and swap --------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def change_request_create(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal_for_form_or_404(request, pk)
    units = list(selectors.units_for_swap(viewer=request.user, deal=deal)[:500])
    form = ChangeRequestForm(request.POST or None, units=units,
                             initial={"kind": request.GET.get("kind") or "cancellation"})
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        result, status = _run(form, lambda: services.change_request_create(
            actor=request.user, deal=deal, kind=data["kind"], reason=data["reason"],
            refund_amount=data.get("refund_amount") or 0, target_unit=data.get("target_unit")))
        if result is not None:
            messages.success(request, _("Sent for approval."))
            return redirect("sales:change_request_detail", pk=result.pk)
    elif request.method == "POST":
        status = 400
    return render(request, "sales/deals/change_form.html", {"deal": deal, "form": form},
                  status=status)


@login_required
@require_GET
def change_request_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "pending")
    if state not in ("pending", "approved", "rejected", ""):
        state = "pending"
    rows = selectors.change_requests(viewer=request.user, state=state or None)
    return render(request, "sales/deals/change_list.html", {"rows": rows, "state": state})


@login_required
@require_http_methods(["GET", "POST"])
def change_request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    change = selectors.change_request_get(viewer=request.user, pk=pk)
    if change is None:
        raise Http404
    form = DecisionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                result, status = _run(form, lambda: services.change_request_decide(
                    actor=request.user, request=change,
                    approve=form.cleaned_data["decision"] == "approve",
                    comment=form.cleaned_data.get("comment") or ""))
            except PermissionDenied as error:
                form.add_error(None, str(error))
                result, status = None, 403
            if result is not None:
                messages.success(request, _("Decided."))
                return redirect("sales:change_request_detail", pk=pk)
    may_decide = (request.user.may("approve_deals") and change.state == "pending"
                  and change.requested_by_id != request.user.pk)
    return render(request, "sales/deals/change_detail.html", {
        "change": change, "form": form, "may_decide": may_decide,
        "deal_url": reverse("sales:deal_detail", args=[change.deal_id])}, status=status)
