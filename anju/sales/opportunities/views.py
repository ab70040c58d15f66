"""Opportunity pages: list, detail (history, matching units, quotes), kanban (drag to move),
funnel, quotes with approval and PDF. Thin: parse, call a selector or a service, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from anju.accounts.models import Company
from anju.core.forms import apply_service_errors
from anju.core.locking import conflict_context
from anju.core.money import amount_in_words, format_wan, format_yuan
from anju.core.pdf import pdf_response
from anju.sales.models.opportunities import Quote

from . import selectors, services
from .forms import DecisionForm, MoveForm, OpportunityCreateForm, OpportunityEditForm, QuoteForm


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _errors(error: ValidationError, form=None) -> str:
    """A service's refusal as one line, each message after the name of its field."""
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    parts = []
    for field, messages_ in error.message_dict.items():
        label = _field_label(form, field)
        parts.extend(_labelled(label, message) for message in messages_)
    return " ".join(parts)


def _labelled(label: str, message) -> str:
    if not label:
        return str(message)
    return _("%(field)s: %(message)s") % {"field": label, "message": message}


def _field_label(form, field: str) -> str:
    if form is not None and field in getattr(form, "fields", {}):
        return str(form.fields[field].label or field)
    return {"stage": _("stage"), "project": _("project"), "customer": _("customer"),
            "unit": _("unit"), "discounts": _("Discounts"), "comment": _("comment"),
            "lost_reason": _("lost reason"), "lost_note": _("lost note"),
            "owner": _("consultant"), "payment_method": _("payment method"),
            "valid_until": _("valid until"), "status": _("status"),
            "expected_value": _("expected value (yuan)"),
            "expected_close_date": _("expected close date")}.get(field, "")


def _form_errors(form) -> str:
    """A form's errors as one line, each after its field's label."""
    parts = []
    for field, errors in form.errors.items():
        label = str(form.fields[field].label or field) if field in form.fields else ""
        parts.extend(_labelled(label, message) for message in errors)
    return " ".join(parts)


def _filters(request: HttpRequest) -> dict:
    return {key: request.GET.get(key) for key in (*selectors.FILTER_KEYS, "date_from",
                                                  "date_to")
            if request.GET.get(key)}


@login_required
@require_GET
def opportunity_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    page = selectors.opportunity_list(viewer=request.user, filters=filters,
                                      cursor=request.GET.get("cursor"))
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return render(request, "sales/opportunities/list.html", {
        "page": page, "filters": filters, "query": query,
        "choices": selectors.filter_choices(viewer=request.user),
        "stages": services.Stage.choices})


@login_required
@require_POST
def opportunity_create(request: HttpRequest) -> HttpResponse:
    form = OpportunityCreateForm(request.POST)
    customer_id = request.POST.get("customer") or ""
    back = (reverse("customers:detail", args=[customer_id]) if customer_id.isdigit()
            else reverse("sales:opportunity_list"))
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(back)
    try:
        opportunity = services.opportunity_create(actor=request.user, **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, _errors(error, form))
        return redirect(back)
    messages.success(request, _("The opportunity was opened."))
    return redirect("sales:opportunity_detail", pk=opportunity.pk)


def _edit_form(request: HttpRequest, opportunity, data=None) -> OpportunityEditForm:
    return OpportunityEditForm(data, owners=selectors.owner_choices(viewer=request.user),
                               initial={"expected_value": opportunity.expected_value,
                                        "expected_close_date": opportunity.expected_close_date,
                                        "owner": opportunity.owner_id,
                                        "version": opportunity.version})


def _detail(request: HttpRequest, pk: int, *, edit_form=None, status: int = 200,
            extra: dict | None = None) -> HttpResponse:
    view = selectors.opportunity_detail(viewer=request.user, pk=pk)
    return render(request, "sales/opportunities/detail.html", {
        "view": view, "opportunity": view.opportunity, **(extra or {}),
        "edit_form": edit_form or _edit_form(request, view.opportunity),
        "move_form": MoveForm(), "quote_form": QuoteForm(),
        "moves": [(stage, services.Stage(stage).label) for stage in view.moves],
        "value_wan": (format_wan(view.opportunity.expected_value)
                      if view.opportunity.expected_value is not None else ""),
        "weighted_wan": format_wan(view.weighted_value) if view.weighted_value else ""},
        status=status)


@login_required
@require_GET
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, pk)


@login_required
@require_POST
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Saves the expected value, close date and consultant; a version conflict shows both
    versions (409), bad input the form with its errors (400), nothing half-written."""
    opportunity = selectors.opportunity_get(viewer=request.user, pk=pk)
    form = _edit_form(request, opportunity, request.POST)
    if form.is_valid():
        try:
            changes = {name: form.cleaned_data[name]
                       for name in ("expected_value", "expected_close_date")}
            owner = form.cleaned_data["owner"]
            if owner is not None and owner.pk != opportunity.owner_id:
                changes["owner"] = owner
            services.opportunity_update(actor=request.user, opportunity=opportunity,
                                        expected_version=form.expected_version, **changes)
        except services.VersionConflict as conflict:
            return _detail(request, pk, edit_form=form, status=409,
                           extra=conflict_context(conflict, field_names=[
                               "expected_value", "expected_close_date", "owner"]))
        except ValidationError as error:
            apply_service_errors(form, error)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(request, _("The opportunity was saved."))
            return redirect("sales:opportunity_detail", pk=pk)
    return _detail(request, pk, edit_form=form, status=400)


@login_required
@require_POST
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponse:
    """From the detail page's form or the kanban's drop (fetch, JSON answer): the move, or
    the refusal with its reason (400) and nothing changed."""
    selectors.opportunity_get(viewer=request.user, pk=pk)  # 404 outside the scope
    form = MoveForm(request.POST)
    error_text = ""
    if form.is_valid():
        try:
            opportunity = services.opportunity_move(actor=request.user, opportunity=pk,
                                                    to_stage=form.cleaned_data["stage"],
                                                    lost_reason=form.cleaned_data["lost_reason"],
                                                    lost_note=form.cleaned_data["lost_note"],
                                                    note=form.cleaned_data["note"])
        except ValidationError as error:
            error_text = _errors(error, form)
        except PermissionDenied:
            raise Http404 from None
    else:
        error_text = _form_errors(form)
    if _wants_json(request):
        if error_text:
            return JsonResponse({"ok": False, "error": error_text}, status=400)
        return JsonResponse({"ok": True, "stage": opportunity.stage,
                             "label": str(opportunity.get_stage_display())})
    if error_text:
        messages.error(request, error_text)
    else:
        messages.success(request, _("Moved to “%(stage)s”.")
                         % {"stage": opportunity.get_stage_display()})
    return redirect("sales:opportunity_detail", pk=pk)


@login_required
@require_GET
def opportunity_kanban(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    columns = selectors.kanban(viewer=request.user, filters=filters)
    return render(request, "sales/opportunities/kanban.html", {
        "columns": columns, "filters": filters,
        "detail_base": reverse("sales:opportunity_list"),
        "choices": selectors.filter_choices(viewer=request.user),
        "lost_reasons": services.LostReason.choices})


@login_required
@require_GET
def opportunity_funnel(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    result = selectors.funnel(viewer=request.user, filters=filters)
    return render(request, "sales/opportunities/funnel.html", {
        "funnel": result, "filters": filters, "chart": selectors.funnel_chart(result),
        "choices": selectors.filter_choices(viewer=request.user)})


@login_required
@require_GET
def opportunity_funnel_chart(request: HttpRequest) -> JsonResponse:
    """The funnel's ECharts option (the home dashboard's tile draws it after the page)."""
    result = selectors.funnel(viewer=request.user, filters=_filters(request))
    return JsonResponse(selectors.funnel_chart(result))


# --- quotes -----------------------------------------------------------------------------------
@login_required
@require_POST
def quote_create(request: HttpRequest, pk: int) -> HttpResponse:
    selectors.opportunity_get(viewer=request.user, pk=pk)
    form = QuoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("sales:opportunity_detail", pk=pk)
    try:
        quote = services.quote_create(
            actor=request.user, opportunity=pk, unit=form.cleaned_data["unit"],
            payment_method=form.cleaned_data["payment_method"], discounts=form.discounts(),
            valid_until=form.cleaned_data["valid_until"], note=form.cleaned_data["note"])
    except ValidationError as error:
        messages.error(request, _errors(error, form))
        return redirect("sales:opportunity_detail", pk=pk)
    if quote.status == Quote.Status.PENDING:
        messages.warning(request, _("The discount is beyond your limit: the quote waits for "
                                    "a manager's approval."))
    else:
        messages.success(request, _("The quote was issued."))
    return redirect("sales:quote_detail", pk=quote.pk)


@login_required
@require_GET
def quote_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or ""
    return render(request, "sales/opportunities/quote_list.html", {
        "quotes": selectors.quote_list(viewer=request.user, status=status),
        "status": status, "statuses": Quote.Status.choices,
        "may_approve": request.user.may("approve_deals")})


def _quote_context(request: HttpRequest, pk: int) -> dict:
    quote = selectors.quote_get(viewer=request.user, pk=pk)
    return {"quote": quote, "discounts": list(quote.discounts.all()),
            "final_yuan": format_yuan(quote.final_price),
            "final_wan": format_wan(quote.final_price),
            "final_words": amount_in_words(quote.final_price),
            "list_yuan": format_yuan(quote.list_price),
            "discount_yuan": format_yuan(quote.discount_amount)}


@login_required
@require_GET
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    context = _quote_context(request, pk)
    quote = context["quote"]
    context["may_decide"] = (quote.status == Quote.Status.PENDING
                             and request.user.may("approve_deals")
                             and quote.created_by_id != request.user.pk)
    context["decision_form"] = DecisionForm()
    return render(request, "sales/opportunities/quote_detail.html", context)


@login_required
@require_POST
def quote_decide(request: HttpRequest, pk: int) -> HttpResponse:
    selectors.quote_get(viewer=request.user, pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("sales:quote_detail", pk=pk)
    service = (services.quote_approve if form.cleaned_data["decision"] == "approve"
               else services.quote_reject)
    try:
        service(actor=request.user, quote=pk, comment=form.cleaned_data["comment"])
    except ValidationError as error:
        messages.error(request, _errors(error, form))
    else:
        messages.success(request, _("Your decision was recorded."))
    return redirect("sales:quote_detail", pk=pk)


@login_required
@require_GET
def quote_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable quote; only an issued quote is printed (one awaiting approval or
    rejected is not an offer)."""
    context = _quote_context(request, pk)
    if context["quote"].status != Quote.Status.ISSUED:
        raise Http404
    return pdf_response("sales/opportunities/quote_pdf.html", context, request=request,
                        filename=f"{context['quote'].number}.pdf")


# --- settings (admins change, everyone reads) ---------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def sales_settings(request: HttpRequest) -> HttpResponse:
    """Discount limits per role × payment method and win probabilities per stage (global or
    one company). Admins (edit_organisation) save; a bad cell is named, nothing is saved."""
    company_id = _int(request.GET.get("company") or request.POST.get("company"))
    errors: dict = {}
    if request.method == "POST":
        if not request.user.may("edit_organisation"):
            raise PermissionDenied
        view = selectors.sales_settings(viewer=request.user, company_id=company_id)
        try:
            if request.POST.get("part") == "probabilities":
                company = (Company.objects.get(pk=view.company_id) if view.company_id
                           else None)
                services.stage_probabilities_replace(actor=request.user, company=company, values={
                    stage: request.POST.get(field, "").strip()
                    for stage, _label, field, _own, _force in view.probabilities})
            else:
                services.discount_policies_replace(actor=request.user, limits={
                    (code, method): request.POST.get(field, "").strip()
                    for code, _label, cells in view.roles for method, field, _value in cells})
        except ValidationError as error:
            errors = error.message_dict
        else:
            messages.success(request, _("The settings were saved."))
            suffix = f"?company={view.company_id}" if view.company_id else ""
            return redirect(reverse("sales:settings") + suffix)
    view = selectors.sales_settings(viewer=request.user, company_id=company_id)
    if errors:  # show what was typed, not what is saved
        typed = request.POST
        view.roles = [(code, label, [(method, field, typed.get(field, value))
                                     for method, field, value in cells])
                      for code, label, cells in view.roles]
        view.probabilities = [(stage, label, field, typed.get(field, own), in_force)
                              for stage, label, field, own, in_force in view.probabilities]
    return render(request, "sales/opportunities/settings.html", {
        "view": view, "errors": errors,
        "may_edit": request.user.may("edit_organisation")}, status=400 if errors else 200)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
