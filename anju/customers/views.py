"""The ledger's pages: list, create (with the duplicate offer), edit, 360°, today, export.

Thin: parse with a form, call a selector or a service, render. htmx requests get partials."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from anju.core.export_requests import export_request_create, export_request_for_download
from anju.core.exports import Column, ExportNeedsApproval, export_table
from anju.core.forms import apply_service_errors
from anju.core.locking import VersionConflict, conflict_context
from anju.core.masking import mask_phone

from . import selectors, services
from .form_rendering import FAST_RENDERER
from .forms import (
    CustomerEditForm,
    CustomerForm,
    HouseholdForm,
    InteractionForm,
    ListFilterForm,
    NeedForm,
    PhoneAddForm,
    SavedFilterForm,
    TagsForm,
    TierOverrideForm,
)
from .models import Customer
from .services import DuplicateCustomer

EXPORT_TARGET = "customers.customer"


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _may_manage_tier(user) -> bool:
    return user.may("approve_exports") or user.is_team_leader


# --- list ------------------------------------------------------------------------------------
def _filter_form(request: HttpRequest, data: QueryDict | None = None) -> ListFilterForm:
    user = request.user
    data = request.GET if data is None else data
    return ListFilterForm(
        data if any(key in data for key in (*selectors.FILTER_KEYS, "sort")) else None,
        choices=selectors.list_filter_choices(viewer=user), renderer=FAST_RENDERER)


def _filter_query(request: HttpRequest) -> str:
    keep = [(key, value) for key, value in request.GET.items()
            if key in (*selectors.FILTER_KEYS, "sort") and value]
    return urlencode(keep)


@login_required
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    form = _filter_form(request)
    sort = request.GET.get("sort") or "-id"
    cursor = request.GET.get("cursor") or None
    # the count comes after the rows, from customer_count (htmx), so they do not wait for it
    page = selectors.customer_list(viewer=request.user, filters=form.filters(), sort=sort,
                                   cursor=cursor, columns=selectors.LIST_COLUMNS)
    query = _filter_query(request)
    context = {"form": form, "page": page, "query": query,
               "saved_filters": selectors.saved_filters(user=request.user),
               "save_form": SavedFilterForm(initial={"query": query}, renderer=FAST_RENDERER),
               "may_export": request.user.may("export")}
    if _is_htmx(request) and cursor:
        return render(request, "customers/_list_rows.html", context)
    return render(request, "customers/list.html", context)


@login_required
@require_GET
def customer_count(request: HttpRequest) -> HttpResponse:
    page = selectors.customer_list_count(viewer=request.user,
                                         filters=_filter_form(request).filters())
    return render(request, "customers/_list_count.html", {"page": page})


@login_required
@require_POST
def saved_filter_save(request: HttpRequest) -> HttpResponse:
    form = SavedFilterForm(request.POST)
    if form.is_valid():
        try:
            services.saved_filter_save(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
    if form.errors:
        messages.error(request, " ".join(m for errors in form.errors.values() for m in errors))
    context = {"saved_filters": selectors.saved_filters(user=request.user),
               "save_form": form if form.errors else SavedFilterForm(
                   initial={"query": request.POST.get("query", "")}),
               "query": request.POST.get("query", "")}
    if _is_htmx(request):
        return render(request, "customers/_saved_filters.html", context)
    return redirect(reverse("customers:list") + "?" + request.POST.get("query", ""))


@login_required
@require_POST
def saved_filter_delete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.saved_filter_delete(actor=request.user, saved_filter_id=pk)
    except ValidationError as error:
        raise Http404 from error
    if _is_htmx(request):
        return render(request, "customers/_saved_filters.html", {
            "saved_filters": selectors.saved_filters(user=request.user),
            "save_form": SavedFilterForm(initial={"query": request.POST.get("query", "")}),
            "query": request.POST.get("query", "")})
    return redirect("customers:list")


# --- export ----------------------------------------------------------------------------------
def export_columns() -> list[Column]:
    return [
        Column(_("name"), "name"),
        Column(_("mobile phone"), "primary_phone", kind="phone"),
        Column(_("ID card number"), "id_number", kind="id_number"),
        Column(_("gender"), "get_gender_display"),
        Column(_("birthday"), "birthday", kind="date"),
        Column(_("lifecycle stage"), "get_stage_display"),
        Column(_("tier"), lambda c: c.get_tier_override_display() or c.get_tier_display()),
        Column(_("owning consultant"), lambda c: str(c.owner) if c.owner_id else ""),
        Column(_("main project"), lambda c: c.project.name if c.project_id else ""),
        Column(_("source channel"), "source_channel"),
        Column(_("last contact"), "last_contact_at", kind="datetime"),
        Column(_("marketing consent"), "marketing_consent", kind="bool"),
    ]


def _run_export(request: HttpRequest, query: QueryDict, file_format: str, *,
                approved: bool = False) -> HttpResponse:
    form = _filter_form(request, query)
    rows = selectors.customer_export_rows(viewer=request.user, filters=form.filters(),
                                          sort=query.get("sort") or "-id")
    return export_table(user=request.user, target=EXPORT_TARGET, columns=export_columns(),
                        rows=rows, file_format=file_format,
                        filename=f"{_('customers')}-{timezone.localdate():%Y%m%d}",
                        unmask=query.get("unmask") == "1", request=request, approved=approved)


@login_required
@require_GET
def customer_export(request: HttpRequest) -> HttpResponse:
    file_format = request.GET.get("format", "xlsx")
    if file_format not in ("xlsx", "csv"):
        raise Http404
    try:
        return _run_export(request, request.GET, file_format)
    except ExportNeedsApproval as needs:
        query = _filter_query(request)
        export_request = export_request_create(
            actor=request.user, target=EXPORT_TARGET,
            title=_("Customer list") + (f" ({query})" if query else ""), query=query,
            file_format=file_format, rows=needs.threshold, download_path="",
            reason=request.GET.get("reason", ""), inbox_url=reverse("core:export-requests"))
        if not export_request.download_path:
            export_request.download_path = reverse("customers:export-download",
                                                   args=[export_request.pk])
            export_request.save(update_fields=["download_path"])
        return render(request, "customers/export_requested.html",
                      {"needs": needs, "export_request": export_request}, status=202)


@login_required
@require_GET
def customer_export_download(request: HttpRequest, pk: int) -> HttpResponse:
    export_request = export_request_for_download(actor=request.user, pk=pk)
    return _run_export(request, QueryDict(export_request.query), export_request.file_format,
                       approved=True)


# --- create and edit -------------------------------------------------------------------------
def _duplicate_context(request: HttpRequest, existing: Customer) -> dict:
    visible = Customer.objects.visible_to(request.user).filter(pk=existing.pk).exists()
    return {"duplicate": existing, "duplicate_visible": visible,
            "duplicate_owner": str(existing.owner) if existing.owner_id else _("nobody"),
            "duplicate_phone": mask_phone(existing.primary_phone)}


@login_required
@require_http_methods(["GET", "POST"])
def customer_create(request: HttpRequest) -> HttpResponse:
    form = CustomerForm(request.POST or None, viewer=request.user)
    context: dict = {}
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_create(actor=request.user, **form.service_kwargs())
        except DuplicateCustomer as duplicate:
            apply_service_errors(form, duplicate)
            context.update(_duplicate_context(request, duplicate.existing))
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The customer was added."))
            return redirect("customers:detail", pk=customer.pk)
    context["form"] = form
    return render(request, "customers/form.html", context,
                  status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get(viewer=request.user, pk=pk)
    initial = {name: getattr(customer, name) for name in (
        "name", "id_number", "gender", "birthday", "source_channel", "occupation",
        "income_band", "address", "stage")}
    initial.update(project=customer.project_id, version=customer.version)
    form = CustomerEditForm(request.POST or None, initial=initial, viewer=request.user)
    context: dict = {"customer": customer}
    if request.method == "POST" and form.is_valid():
        changes = form.service_kwargs()
        if changes.get("id_number", "") == customer.id_number:
            changes.pop("id_number", None)
        try:
            services.customer_update(actor=request.user, customer=customer,
                                     expected_version=form.expected_version, **changes)
        except VersionConflict as conflict:
            context.update(conflict_context(conflict))
            form = CustomerEditForm(request.POST.copy(), viewer=request.user)
            form.data["version"] = conflict.current.version
            form.is_valid()
        except DuplicateCustomer as duplicate:
            apply_service_errors(form, duplicate)
            context.update(_duplicate_context(request, duplicate.existing))
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The customer was saved."))
            return redirect("customers:detail", pk=customer.pk)
    context["form"] = form
    status = 409 if "conflict" in context else (400 if request.method == "POST" else 200)
    return render(request, "customers/edit.html", context, status=status)


# --- 360° --------------------------------------------------------------------------------------
def _detail_context(request: HttpRequest, pk: int) -> dict:
    view = selectors.customer_get_360(viewer=request.user, pk=pk)
    need = view.need
    need_initial = {}
    if need is not None:
        need_initial = {name: getattr(need, name) for name in (
            "budget_min_wan", "budget_max_wan", "area_min", "area_max", "purpose", "notes")}
        need_initial["unit_types"] = "、".join(need.unit_types)
        need_initial["districts"] = "、".join(need.districts)
    # the form shows the tags the list's filters keep a minute; a POST validates fresh ones
    groups = selectors.list_filter_choices(viewer=request.user).tags
    return {
        "view": view, "customer": view.customer,
        "interaction_form": InteractionForm(initial={"kind": "call"}, renderer=FAST_RENDERER),
        "phone_form": PhoneAddForm(renderer=FAST_RENDERER),
        "tags_form": TagsForm(groups=groups,
                              initial={"tags": [link.tag_id for link in view.tags]},
                              renderer=FAST_RENDERER),
        "need_form": NeedForm(initial=need_initial, renderer=FAST_RENDERER),
        "household_form": HouseholdForm(renderer=FAST_RENDERER),
        "tier_form": TierOverrideForm(initial={"tier": view.customer.tier_override,
                                               "reason": view.customer.tier_override_reason},
                                      renderer=FAST_RENDERER),
        "may_manage_tier": _may_manage_tier(request.user),
    }


@login_required
@require_GET
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "customers/detail.html", _detail_context(request, pk))


@login_required
@require_GET
def customer_section(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    """One section another app registered on the 360° page, loaded after the page (htmx)."""
    customer, section, context = selectors.customer_section(viewer=request.user, pk=pk,
                                                            key=key)
    return render(request, "customers/_section.html",
                  {"customer": customer, "item": section, "section": context})


@login_required
@require_GET
def customer_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """Older interactions of the 360° timeline, after the "older" button's cursor."""
    customer = selectors.customer_get(viewer=request.user, pk=pk)
    page = selectors.interaction_timeline(customer=customer,
                                          cursor=request.GET.get("cursor") or None)
    return render(request, "customers/_timeline_page.html",
                  {"customer": customer, "interactions": page.interactions,
                   "next_cursor": page.next_cursor})


def _customer_action(request: HttpRequest, pk: int, action, *, partial: str,
                     form=None) -> HttpResponse:
    """Runs one service for the 360° page; answers with the refreshed partial (htmx) or a
    redirect; field errors come back in the partial, with status 400."""
    customer = selectors.customer_get(viewer=request.user, pk=pk)
    error_form = None
    if form is not None and not form.is_valid():
        error_form = form
    else:
        try:
            action(customer)
        except ValidationError as error:
            if form is None:
                messages.error(request, " ".join(error.messages))
                error_form = None
            else:
                apply_service_errors(form, error)
                error_form = form
        except PermissionDenied:
            raise
    if not _is_htmx(request):
        if error_form is not None:
            messages.error(request, " ".join(m for errors in error_form.errors.values()
                                             for m in errors))
        return redirect("customers:detail", pk=pk)
    context = _detail_context(request, pk)
    if error_form is not None:
        context[partial.removeprefix("customers/_").removesuffix(".html") + "_form"] = error_form
    return render(request, partial, context, status=400 if error_form is not None else 200)


@login_required
@require_POST
def interaction_create(request: HttpRequest, pk: int) -> HttpResponse:
    form = InteractionForm(request.POST)
    return _customer_action(request, pk, lambda customer: services.interaction_log(
        actor=request.user, customer=customer, **form.cleaned_data),
        partial="customers/_interaction.html", form=form)


@login_required
@require_POST
def follow_up_done(request: HttpRequest, pk: int) -> HttpResponse:
    interaction = services.follow_up_done(actor=request.user, interaction=pk)
    if _is_htmx(request):
        return HttpResponse("")
    if request.POST.get("next") == "today":
        return redirect("customers:today")
    return redirect("customers:detail", pk=interaction.customer_id)


@login_required
@require_POST
def phone_add(request: HttpRequest, pk: int) -> HttpResponse:
    form = PhoneAddForm(request.POST)
    return _customer_action(request, pk, lambda customer: services.customer_phone_add(
        actor=request.user, customer=customer, **form.cleaned_data),
        partial="customers/_phone.html", form=form)


@login_required
@require_POST
def phone_change(request: HttpRequest, pk: int, phone_id: int) -> HttpResponse:
    service = (services.customer_phone_remove if request.POST.get("action") == "remove"
               else services.customer_phone_set_primary)
    return _customer_action(request, pk, lambda customer: service(
        actor=request.user, customer=customer, phone_id=phone_id),
        partial="customers/_phone.html")


@login_required
@require_POST
def tags_set(request: HttpRequest, pk: int) -> HttpResponse:
    form = TagsForm(request.POST, groups=selectors.tag_choice_pairs())
    return _customer_action(request, pk, lambda customer: services.customer_tags_set(
        actor=request.user, customer=customer, tags=form.cleaned_data["tags"]),
        partial="customers/_tags.html", form=form)


@login_required
@require_POST
def need_set(request: HttpRequest, pk: int) -> HttpResponse:
    form = NeedForm(request.POST)
    return _customer_action(request, pk, lambda customer: services.customer_need_set(
        actor=request.user, customer=customer, **form.service_kwargs()),
        partial="customers/_need.html", form=form)


@login_required
@require_POST
def household_add(request: HttpRequest, pk: int) -> HttpResponse:
    form = HouseholdForm(request.POST)
    return _customer_action(request, pk, lambda customer: services.household_member_add(
        actor=request.user, customer=customer, **form.cleaned_data),
        partial="customers/_household.html", form=form)


@login_required
@require_POST
def household_remove(request: HttpRequest, pk: int, member_id: int) -> HttpResponse:
    return _customer_action(request, pk, lambda customer: services.household_member_remove(
        actor=request.user, customer=customer, member_id=member_id),
        partial="customers/_household.html")


@login_required
@require_POST
def consent_set(request: HttpRequest, pk: int) -> HttpResponse:
    service = (services.customer_consent_grant if request.POST.get("granted") == "1"
               else services.customer_consent_withdraw)
    return _customer_action(request, pk, lambda customer: service(
        actor=request.user, customer=customer,
        source=request.POST.get("source", "")[:64]),
        partial="customers/_consent.html")


@login_required
@require_POST
def tier_override(request: HttpRequest, pk: int) -> HttpResponse:
    if not _may_manage_tier(request.user):
        raise PermissionDenied
    form = TierOverrideForm(request.POST)
    return _customer_action(request, pk, lambda customer: services.customer_tier_override(
        actor=request.user, customer=customer, **form.cleaned_data),
        partial="customers/_tier.html", form=form)


# --- today -------------------------------------------------------------------------------------
@login_required
@require_GET
def today(request: HttpRequest) -> HttpResponse:
    due = selectors.follow_ups_due(user=request.user)
    overdue_team = []
    if request.user.is_team_leader:
        overdue_team = selectors.follow_ups_overdue_for_manager(manager=request.user)
    return render(request, "customers/today.html", {
        "overdue": due["overdue"], "due_today": due["today"], "overdue_team": overdue_team})
