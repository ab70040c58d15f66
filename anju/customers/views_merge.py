"""Pages of data stewards: duplicate candidates, compare and merge, and a merge explained.

Thin: parse, call `duplicates` (reads) or `merging` (writes), render. Stewards are the users
`merging.may_merge` names; everyone else gets 403, records outside the scope 404."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import (
    FieldDoesNotExist,
    ObjectDoesNotExist,
    PermissionDenied,
    ValidationError,
)
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from anju.core.locking import VersionConflict
from anju.core.masking import mask_id_number, mask_phone

from .duplicates import KINDS, REASONS, duplicate_candidates, duplicate_pair_get
from .merging import (
    FILLABLE_FIELDS,
    MERGEABLE_FIELDS,
    MERGED,
    SURVIVOR,
    customer_merge,
    duplicate_dismiss,
    may_merge,
    merge_record_get,
    moved_label,
    related_counts,
)
from .models import Customer, CustomerNeed
from .tasks import duplicate_candidates_scan


def _steward(request: HttpRequest) -> None:
    if not may_merge(request.user):
        raise PermissionDenied


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


@login_required
def duplicate_list(request: HttpRequest) -> HttpResponse:
    _steward(request)
    kind = request.GET.get("kind") or None
    page = duplicate_candidates(viewer=request.user, kind=kind,
                                cursor=request.GET.get("cursor"))
    return render(request, "customers/duplicates.html", {
        "page": page, "kind": kind if kind in REASONS else "",
        "kinds": [(code, REASONS[code]) for code in KINDS],
    })


@login_required
@require_POST
def duplicate_scan_view(request: HttpRequest) -> HttpResponse:
    """A steward asks for a new scan now (it runs in the background, seconds at 1M)."""
    _steward(request)
    duplicate_candidates_scan.enqueue()
    messages.success(request, _("Looking for duplicates again: reload this page in a "
                                "minute."))
    return redirect("customers:duplicates")


@login_required
@require_POST
def duplicate_dismiss_view(request: HttpRequest) -> HttpResponse:
    _steward(request)
    try:
        duplicate_dismiss(actor=request.user, first=_int(request.POST.get("first")),
                          second=_int(request.POST.get("second")),
                          note=request.POST.get("note", ""))
    except ObjectDoesNotExist:
        raise Http404 from None
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("customers:duplicates")
    if request.headers.get("HX-Request"):
        return HttpResponse("")  # the row disappears
    messages.success(request, _("The pair will no longer be offered as a duplicate."))
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("customers:duplicates")


def _display(customer: Customer, name: str) -> str:
    model_field = Customer._meta.get_field(name)
    value = getattr(customer, name)
    if name == "id_number":
        return mask_id_number(value)
    if value in (None, ""):
        return ""
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    return str(value)


def _need_text(need: CustomerNeed | None) -> str:
    if need is None:
        return ""
    parts = []
    if need.budget_min_wan is not None or need.budget_max_wan is not None:
        parts.append(_("budget %(low)s–%(high)s 万元") % {"low": need.budget_min_wan or "",
                                                          "high": need.budget_max_wan or ""})
    if need.area_min is not None or need.area_max is not None:
        parts.append(_("area %(low)s–%(high)s m²") % {"low": need.area_min or "",
                                                      "high": need.area_max or ""})
    if need.purpose:
        parts.append(need.get_purpose_display())
    return "; ".join(str(part) for part in parts) or _("(empty)")


def _compare_rows(survivor: Customer, merged: Customer, chosen: dict[str, str]) -> list[dict]:
    rows = []
    for name in MERGEABLE_FIELDS:
        mine, theirs = _display(survivor, name), _display(merged, name)
        rows.append({
            "name": name,
            "label": Customer._meta.get_field(name).verbose_name,
            "survivor": mine, "merged": theirs,
            "differs": mine != theirs and bool(theirs),
            "fills": not mine and bool(theirs) and name in FILLABLE_FIELDS,
            "choice": chosen.get(name, SURVIVOR),
        })
    rows.append({
        "name": "primary_phone", "label": Customer._meta.get_field("primary_phone").verbose_name,
        "survivor": mask_phone(survivor.primary_phone), "merged": mask_phone(merged.primary_phone),
        "differs": bool(survivor.primary_phone and merged.primary_phone),
        "fills": not survivor.primary_phone and bool(merged.primary_phone),
        "choice": chosen.get("primary_phone", SURVIVOR),
    })
    needs = {need.customer_id: need for need in
             CustomerNeed.objects.filter(customer__in=[survivor, merged])}
    mine_need, their_need = needs.get(survivor.pk), needs.get(merged.pk)
    rows.append({
        "name": "need", "label": _("needs"),
        "survivor": _need_text(mine_need), "merged": _need_text(their_need),
        "differs": bool(mine_need and their_need), "fills": False,
        "choice": chosen.get("need", SURVIVOR),
    })
    return rows


@login_required
def merge_compare(request: HttpRequest) -> HttpResponse:
    """GET: the two records side by side, a choice per differing field; POST: merge."""
    _steward(request)
    source = request.POST if request.method == "POST" else request.GET
    survivor_id, merged_id = _int(source.get("survivor")), _int(source.get("merged"))
    try:
        survivor, merged = duplicate_pair_get(viewer=request.user, first=survivor_id,
                                              second=merged_id)
    except ObjectDoesNotExist:
        raise Http404 from None
    chosen = {name: source.get(f"choice_{name}") for name in
              (*MERGEABLE_FIELDS, "primary_phone", "need")
              if source.get(f"choice_{name}") in (SURVIVOR, MERGED)}
    errors: dict[str, list[str]] = {}
    conflict = False
    if request.method == "POST":
        versions = {survivor.pk: source.get("survivor_version"),
                    merged.pk: source.get("merged_version")}
        try:
            record = customer_merge(
                actor=request.user, survivor=survivor, merged=merged,
                reason=source.get("reason", ""),
                field_choices={name: value for name, value in chosen.items()
                               if value == MERGED},
                expected_versions={pk: int(version) for pk, version in versions.items()
                                   if version and str(version).isdigit()})
        except ObjectDoesNotExist:
            raise Http404 from None
        except VersionConflict:
            conflict = True
            survivor, merged = duplicate_pair_get(viewer=request.user, first=survivor_id,
                                                  second=merged_id)
        except ValidationError as error:
            errors = error.message_dict if hasattr(error, "error_dict") else {
                "__all__": error.messages}
        else:
            messages.success(request, _("%(merged)s was merged into %(survivor)s.") % {
                "merged": merged.name, "survivor": survivor.name})
            return redirect("customers:merge_record", pk=record.pk)
    counts = related_counts([survivor, merged])
    keys = sorted(set(counts[survivor.pk]) | set(counts[merged.pk]))
    related = [{"label": moved_label(key), "survivor": counts[survivor.pk].get(key, 0),
                "merged": counts[merged.pk].get(key, 0)} for key in keys]
    status = 409 if conflict else (400 if errors else 200)
    return render(request, "customers/merge_compare.html", {
        "survivor": survivor, "merged": merged,
        "rows": _compare_rows(survivor, merged, chosen), "related": related,
        "reason": source.get("reason", ""), "errors": errors, "conflict": conflict,
        "general_errors": [message for key, values in errors.items() if key != "reason"
                           for message in values],
        "swap_url": reverse("customers:merge") + f"?survivor={merged.pk}&merged={survivor.pk}",
    }, status=status)


@login_required
def merge_record(request: HttpRequest, pk: int) -> HttpResponse:
    """A merge explained: who, when, why, what moved, and the merged record as it was."""
    try:
        record = merge_record_get(viewer=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None
    snapshot = record.merged_snapshot or {}
    customer = snapshot.get("customer", {})
    fields = []
    for model_field in Customer._meta.concrete_fields:
        value = customer.get(model_field.attname)
        if model_field.name in ("id", "version", "id_number_hash", "merged_into") or value in (
                None, "", False):
            continue
        if model_field.name == "primary_phone":
            value = mask_phone(value)
        elif model_field.choices:
            value = dict(model_field.flatchoices).get(value, value)
        fields.append({"label": model_field.verbose_name, "value": value})
    related = []
    for key, data in (snapshot.get("related") or {}).items():
        rows = data.get("rows") or []
        shown = []
        for row in rows[:50]:
            if "e164" in row:
                shown.append(mask_phone(row["e164"]))
            elif "tag_id" in row:
                shown.append(f"#{row['tag_id']}")
            else:
                shown.append(f"#{row.get('id', '')}")
        related.append({"label": moved_label(key), "count": data.get("count", len(rows)),
                        "items": shown})
    moved = [{"label": moved_label(key), "count": count}
             for key, count in sorted((record.moved or {}).items())]
    changes = [{"label": _field_label(name), "before": before, "after": after}
               for name, (before, after) in (snapshot.get("survivor_changes") or {}).items()]
    return render(request, "customers/merge_record.html", {
        "record": record, "fields": fields, "related": related, "moved": moved,
        "changes": changes,
    })


def _field_label(name: str) -> str:
    try:
        return str(Customer._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:  # a column of an older schema: its own name
        return name
