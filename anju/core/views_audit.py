"""Audit pages: the auditor's search (with the sensitive-access log as a second tab) and the
per-record timeline (a full page, or the bare partial when htmx asks)."""

from django import forms
from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from anju.core.audit import audit_for_record, audit_models, audit_search, sensitive_access_page
from anju.core.models import SensitiveAccess


class AuditSearchForm(forms.Form):
    actor = forms.CharField(label=_("Who"), required=False, max_length=150)
    model = forms.ChoiceField(label=_("Kind of record"), required=False)
    object_id = forms.CharField(label=_("Record number"), required=False, max_length=64)
    text = forms.CharField(label=_("Containing"), required=False, max_length=100)
    date_from = forms.DateField(label=_("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))
    cursor = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", _("All")), *audit_models()]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned


class SensitiveFilterForm(forms.Form):
    user = forms.CharField(label=_("Who"), required=False, max_length=150)
    action = forms.ChoiceField(label=_("Action"), required=False,
                               choices=[("", _("All")), *SensitiveAccess.Action.choices])
    cursor = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


def _next_query(request: HttpRequest, cursor: int | None) -> str:
    if not cursor:
        return ""
    params = request.GET.copy()
    params["cursor"] = str(cursor)
    return params.urlencode()


@login_required
@require_GET
def audit_search_view(request: HttpRequest) -> HttpResponse:
    if not request.user.may("read_audit"):
        raise PermissionDenied
    tab = "sensitive" if request.GET.get("tab") == "sensitive" else "changes"
    context: dict = {"tab": tab}
    if tab == "sensitive":
        form = SensitiveFilterForm(request.GET or None)
        filters = form.cleaned_data if form.is_valid() else {}
        rows, cursor = sensitive_access_page(viewer=request.user,
                                             cursor=filters.get("cursor"),
                                             user=filters.get("user"),
                                             action=filters.get("action"))
        context.update(form=form, accesses=rows, next_query=_next_query(request, cursor))
    else:
        form = AuditSearchForm(request.GET or None)
        filters = dict(form.cleaned_data) if form.is_valid() else {}
        page = audit_search(viewer=request.user, **filters)
        context.update(form=form, entries=page.entries,
                       next_query=_next_query(request, page.next_cursor))
    template = "core/audit_search_results.html" if request.htmx else "core/audit_search.html"
    return render(request, template, context)


@login_required
@require_GET
def audit_record_view(request: HttpRequest, model_label: str, pk: str) -> HttpResponse:
    app_label, _dot, model_name = model_label.partition(".")
    try:
        model = apps.get_model(app_label, model_name)
    except (LookupError, ValueError):
        raise Http404 from None
    try:
        obj = model._default_manager.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    entries = audit_for_record(viewer=request.user, obj=obj)
    template = "core/audit_timeline.html" if request.htmx else "core/audit_record.html"
    return render(request, template, {"entries": entries, "object": obj})
