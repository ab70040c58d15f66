"""The property pages: building list, the sales-control board (销控) with its htmx parts,
the unit side panel with lock/release, building from a pattern, unit types, price imports.

Thin: parse with a form, call a selector or a service, render. htmx requests get partials."""

import json
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from anju.accounts.models import Project
from anju.core.forms import apply_service_errors

from . import inventory, price_import, selectors, services
from .board import actions_for
from .forms import (
    BoardFilterForm,
    BuildingPatternForm,
    PriceImportForm,
    ReasonForm,
    UnitTypeForm,
)
from .models import Building, PriceImport, Unit, UnitType

POLL_SECONDS = 3


def _panel_prefix() -> str:
    """The unit panel's address without the id ("/property/units/"), for 320 cells."""
    return reverse("property:unit_panel", args=[0])[:-2]


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _may_control(user) -> bool:
    return bool(user.is_authenticated and user.may("control_sales"))


# --- buildings ------------------------------------------------------------------------------

@login_required
@require_GET
def building_list(request: HttpRequest) -> HttpResponse:
    try:
        project_id = int(request.GET.get("project") or 0) or None
    except ValueError:
        project_id = None
    groups = selectors.building_list(user=request.user, project_id=project_id)
    return render(request, "property/building_list.html", {
        "groups": groups, "may_control": _may_control(request.user),
        "statuses": Unit.Status.choices, "project_id": project_id,
        "projects": _projects(request) if project_id or len(groups) > 1 else []})


def _building_or_404(request: HttpRequest, pk: int) -> Building:
    try:
        return selectors.board_building(user=request.user, building_id=pk)
    except Building.DoesNotExist:
        raise Http404 from None


def _board_form(request: HttpRequest, board_types=()) -> BoardFilterForm:
    keys = ("unit_type", "status", "price_min", "price_max")
    data = request.GET if any(k in request.GET for k in keys) else None
    return BoardFilterForm(data, unit_types=board_types)


def _filter_query(request: HttpRequest) -> str:
    keep = [(key, value) for key in ("unit_type", "status", "price_min", "price_max")
            for value in request.GET.getlist(key) if value]
    return urlencode(keep)


@login_required
@require_GET
def board(request: HttpRequest, pk: int) -> HttpResponse:
    """The board: floors (top first) × units, coloured by status, filterable (htmx)."""
    building = _building_or_404(request, pk)
    # The unit-type choices come from the building's units, so the filter needs no query:
    # parse the filters once the board is built, then mark the matching cells.
    board_data = selectors.board_for(building=building)
    form = _board_form(request, board_data.unit_types)
    filters = form.filters()
    if filters.active:
        for _floor, cells in board_data.floors:
            for cell in cells:
                if cell is not None:
                    cell.matches = filters.matches(cell.unit)
        board_data.filters = filters
    context = {"building": building, "board": board_data, "form": form,
               "query": _filter_query(request), "poll_seconds": POLL_SECONDS,
               "may_control": _may_control(request.user), "panel_prefix": _panel_prefix()}
    if _is_htmx(request) and request.headers.get("HX-Target") == "board-grid":
        return render(request, "property/_board_grid.html", context)
    return render(request, "property/board.html", context)


@login_required
@require_GET
def board_changes(request: HttpRequest, pk: int) -> HttpResponse:
    """What changed on the board since revision `since`: 204 when nothing did, else the
    changed cells, the counts and a new poller (htmx out-of-band swaps)."""
    try:
        since = int(request.GET.get("since", ""))
    except ValueError:
        return HttpResponse(_("“since” must be a board revision number."), status=400)
    building = _building_or_404(request, pk)
    if building.revision == since:
        return HttpResponse(status=204)
    form = _board_form(request)
    form.fields["unit_type"].choices = [("", ""), *[(v, v) for v in
                                                    request.GET.getlist("unit_type") if v]]
    cells, counts = selectors.board_changes(building=building, since=since,
                                            filters=form.filters())
    response = render(request, "property/_board_changes.html", {
        "building": building, "cells": cells, "counts": counts,
        "total": sum(c for _s, _l, c in counts), "revision": building.revision,
        "query": _filter_query(request), "poll_seconds": POLL_SECONDS,
        "panel_prefix": _panel_prefix()})
    # The page refreshes an open side panel whose unit is among these (board.js).
    response["HX-Trigger"] = json.dumps({"property:units-changed": [c.unit.pk for c in cells]})
    return response


# --- a unit's side panel and sales control --------------------------------------------------

def _unit_or_404(request: HttpRequest, pk: int) -> Unit:
    try:
        return selectors.unit_detail(user=request.user, unit_id=pk)
    except Unit.DoesNotExist:
        raise Http404 from None


def _panel_context(request: HttpRequest, unit: Unit) -> dict:
    return {"unit": unit,
            "history": selectors.unit_history(user=request.user, unit_id=unit.pk, limit=20),
            "actions": actions_for(request.user, unit),
            "show_floor_price": selectors.may_see_floor_price(request.user)}


@login_required
@require_GET
def unit_panel(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _unit_or_404(request, pk)
    template = "property/_unit_panel.html" if _is_htmx(request) else "property/unit.html"
    return render(request, template, _panel_context(request, unit))


def _sales_control(request: HttpRequest, pk: int, *, lock: bool) -> HttpResponse:
    unit = _unit_or_404(request, pk)
    form = ReasonForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        service = services.unit_lock if lock else services.unit_release
        try:
            unit = service(unit_id=unit.pk, actor=request.user,
                           reason=form.cleaned_data["reason"])
        except services.UnitTransitionError as refusal:
            error = refusal.message
        else:
            unit = _unit_or_404(request, pk)
            context = _panel_context(request, unit)
            context["notice"] = (_("Unit %(unit)s is locked.") if lock
                                 else _("Unit %(unit)s is back on sale.")) % {
                "unit": unit.label}
            if _is_htmx(request):
                return render(request, "property/_unit_panel.html", context)
            messages.success(request, context["notice"])
            return redirect("property:board", pk=unit.building_id)
    elif request.method == "GET" and not _may_control(request.user):
        error = _("Only users with the sales-control right may lock or release units.")
    context = {"unit": unit, "form": form, "lock": lock, "error": error,
               "action_url": reverse("property:unit_lock" if lock else "property:unit_release",
                                     args=[unit.pk])}
    template = "property/_sales_control.html" if _is_htmx(request) else \
        "property/sales_control.html"
    return render(request, template, context, status=400 if error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def unit_lock(request: HttpRequest, pk: int) -> HttpResponse:
    return _sales_control(request, pk, lock=True)


@login_required
@require_http_methods(["GET", "POST"])
def unit_release(request: HttpRequest, pk: int) -> HttpResponse:
    return _sales_control(request, pk, lock=False)


# --- building from a pattern ----------------------------------------------------------------

def _projects(request: HttpRequest):
    return list(Project.objects.visible_to(request.user).order_by("name").only("id", "name"))


@login_required
@require_http_methods(["GET", "POST"])
def building_create(request: HttpRequest) -> HttpResponse:
    if not _may_control(request.user):
        raise PermissionDenied
    projects = _projects(request)
    form = BuildingPatternForm(request.POST or None, projects=projects)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        types = {t.name: t.pk for t in UnitType.objects.filter(project_id=data["project"])}
        names = [n.strip() for n in (data["type_map"] or "").replace("，", ",").split(",")]
        names = names if any(names) else [""] * data["units_per_floor"]
        unknown = [n for n in names if n and n not in types]
        if unknown:
            form.add_error("type_map", _("Unknown unit types: %(names)s.") % {
                "names": ", ".join(unknown)})
        else:
            pattern = inventory.BuildingPattern(
                name=data["name"], code=data["code"], floor_count=data["floor_count"],
                units_per_floor=data["units_per_floor"],
                type_map=[types.get(n) if n else None for n in names],
                base_unit_price=data["base_unit_price"],
                floor_increment=data["floor_increment"] or Decimal("0"),
                floor_price_ratio=data["floor_price_ratio"],
                default_area=data["default_area"])
            try:
                building = inventory.building_create_from_pattern(
                    actor=request.user, project_id=data["project"], pattern=pattern)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Building %(name)s is created with %(count)s "
                                            "units.") % {
                    "name": building.name, "count": building.floor_count
                    * building.units_per_floor})
                return redirect("property:board", pk=building.pk)
    return render(request, "property/building_form.html", {"form": form},
                  status=400 if form.errors else 200)


# --- unit types ---------------------------------------------------------------------------

@login_required
@require_GET
def unit_type_list(request: HttpRequest) -> HttpResponse:
    types = (selectors.unit_type_visible_to(request.user).select_related("project")
             .order_by("project__name", "name"))
    return render(request, "property/unit_type_list.html", {
        "unit_types": types, "may_control": _may_control(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def unit_type_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if not _may_control(request.user):
        raise PermissionDenied
    unit_type = None
    if pk is not None:
        unit_type = (selectors.unit_type_visible_to(request.user).filter(pk=pk)
                     .select_related("project").first())
        if unit_type is None:
            raise Http404
    projects = _projects(request)
    form = UnitTypeForm(request.POST or None, request.FILES or None, instance=unit_type)
    if unit_type is None:
        from django import forms as django_forms

        form.fields["project"] = django_forms.TypedChoiceField(
            label=_("project"), coerce=int, choices=[(p.pk, p.name) for p in projects])
        form.order_fields(["project"])
    if request.method == "POST" and form.is_valid():
        values = {k: v for k, v in form.cleaned_data.items()
                  if k in inventory.UNIT_TYPE_FIELDS}
        try:
            saved = inventory.unit_type_save(
                actor=request.user,
                project_id=form.cleaned_data.get("project") if unit_type is None else None,
                values=values, floor_plan=form.cleaned_data.get("floor_plan") or None,
                unit_type=unit_type)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Unit type %(name)s is saved.") % {"name": saved.name})
            return redirect("property:unit_type_list")
    return render(request, "property/unit_type_form.html",
                  {"form": form, "unit_type": unit_type}, status=400 if form.errors else 200)


@login_required
@require_GET
def unit_type_floor_plan(request: HttpRequest, pk: int) -> FileResponse:
    """The floor plan image, for those who may see the unit type (served through the
    storage API, so it works the same on a local folder and on S3)."""
    unit_type = (selectors.unit_type_visible_to(request.user).filter(pk=pk)
                 .only("id", "floor_plan").first())
    if unit_type is None or not unit_type.floor_plan:
        raise Http404
    try:
        handle = unit_type.floor_plan.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(handle, content_type=inventory.floor_plan_content_type(
        unit_type.floor_plan.name))
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- price-list import ----------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def price_import_upload(request: HttpRequest) -> HttpResponse:
    if not _may_control(request.user):
        raise PermissionDenied
    projects = _projects(request)
    form = PriceImportForm(request.POST or None, request.FILES or None, projects=projects)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = price_import.price_import_check(
                actor=request.user, project_id=form.cleaned_data["project"],
                name=upload.name, data=upload.read(price_import.MAX_BYTES + 1))
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            return redirect("property:price_import_detail", pk=job.pk)
    jobs = (PriceImport.objects.visible_to(request.user).select_related("project", "created_by")
            .defer("rows", "rejected", "headers")[:20])
    return render(request, "property/price_import.html", {"form": form, "jobs": jobs},
                  status=400 if form.errors else 200)


def _job_or_404(request: HttpRequest, pk: int) -> PriceImport:
    try:
        return price_import.price_import_for(actor=request.user, import_id=pk)
    except PriceImport.DoesNotExist:
        raise Http404 from None


@login_required
@require_GET
def price_import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_or_404(request, pk)
    rejected = [{"row": r["row"], "values": r["values"],
                 "reasons": [price_import.reason_text(x) for x in r["reasons"]]}
                for r in job.rejected[:200]]
    labels = {f.name: str(f.verbose_name) for f in Unit._meta.concrete_fields}
    types = dict(UnitType.objects.filter(project_id=job.project_id).values_list("id", "name"))
    changes = [{"row": r["row"], "label": r["label"], "values": [
        (labels.get(k, k), types.get(int(v), v) if k == "unit_type" else v)
        for k, v in r["changes"].items()]} for r in job.rows if r["changed"]][:200]
    return render(request, "property/price_import_detail.html", {
        "job": job, "rejected": rejected, "changes": changes,
        "may_control": _may_control(request.user)})


@login_required
@require_POST
def price_import_apply(request: HttpRequest, pk: int) -> HttpResponse:
    _job_or_404(request, pk)
    try:
        job = price_import.price_import_apply(actor=request.user, import_id=pk)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, _("%(count)s units have their new prices.") % {
            "count": job.applied_count})
    return redirect("property:price_import_detail", pk=pk)


@login_required
@require_POST
def price_import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    _job_or_404(request, pk)
    try:
        price_import.price_import_cancel(actor=request.user, import_id=pk)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, _("The import is cancelled; no unit was changed."))
    return redirect("property:price_import_detail", pk=pk)


@login_required
@require_GET
def price_import_errors(request: HttpRequest, pk: int) -> FileResponse:
    job = _job_or_404(request, pk)
    stem = job.original_name.rsplit(".", 1)[0] or "price-list"
    return FileResponse(price_import.error_sheet(job), as_attachment=True,
                        filename=f"{stem}-rejected.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument."
                                     "spreadsheetml.sheet")
