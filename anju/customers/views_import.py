"""Import pages: upload, map the columns and preview, follow the progress, download the
rejected rows. Thin: forms parse, `importing.services` decide, `importing.selectors` read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .importing import selectors, services
from .importing.errorsheet import CONTENT_TYPE, error_sheet, error_sheet_filename
from .importing.forms import ImportMappingForm, ImportUploadForm
from .importing.mapping import FIELDS
from .models import ImportJob

State = ImportJob.State
LIST_SIZE = 30


def _apply_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None, viewer=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_job_create(
                actor=request.user, upload=form.cleaned_data["file"],
                company=form.cleaned_data["company"], project=form.cleaned_data["project"],
                owner=form.cleaned_data["owner"], language=get_language())
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            return redirect("customers:import_detail", pk=job.pk)
    jobs = list(selectors.import_job_list(viewer=request.user)[:LIST_SIZE])
    return render(request, "customers/import_list.html", {"form": form, "jobs": jobs},
                  status=400 if form.errors else 200)


def _may_edit(request: HttpRequest, job: ImportJob) -> bool:
    return job.user_id == request.user.pk and job.state in services.EDITABLE_STATES


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_job_get(viewer=request.user, pk=pk)
    context = {"job": job, "may_download": _may_download(request, job)}
    if not _may_edit(request, job):
        if request.method == "POST":
            raise PermissionDenied
        return render(request, "customers/import_detail.html", context)
    headers = job.mapping.get("headers", [])
    form = ImportMappingForm(request.POST or None, headers=headers,
                             columns=job.mapping.get("columns", {}))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_job_set_mapping(actor=request.user, job=job,
                                                  columns=form.columns())
            if request.POST.get("action") == "start":
                services.import_job_start(actor=request.user, job=job)
                messages.success(request, _("The import has started."))
            return redirect("customers:import_detail", pk=job.pk)
        except ValidationError as error:
            _apply_errors(form, error)
            status = 400
    elif request.method == "POST":
        status = 400
    known = {key for key in job.mapping.get("columns", {}).values() if key}
    context.update({
        "form": form,
        "preview": selectors.import_preview(job=job),
        "headers": headers,
        "unknown_headers": [header for index, header in enumerate(headers)
                            if not job.mapping["columns"].get(str(index)) and header],
        "mapped_fields": [str(FIELDS[key][0]) for key in FIELDS if key in known],
        "seen_before": selectors.import_job_seen_before(job=job),
    })
    return render(request, "customers/import_detail.html", context, status=status)


@login_required
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_job_get(viewer=request.user, pk=pk)
    return render(request, "customers/import_progress.html",
                  {"job": job, "may_download": _may_download(request, job)})


@login_required
@require_POST
def import_resume(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_job_get(viewer=request.user, pk=pk)
    try:
        services.import_job_resume(actor=request.user, job=job)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("customers:import_detail", pk=job.pk)


def _may_download(request: HttpRequest, job: ImportJob) -> bool:
    # The sheet holds phone and ID numbers in clear: the uploader, or whoever may unmask.
    return job.user_id == request.user.pk or request.user.may("unmask")


@login_required
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_job_get(viewer=request.user, pk=pk)
    if not _may_download(request, job):
        raise PermissionDenied
    return FileResponse(error_sheet(job), as_attachment=True,
                        filename=error_sheet_filename(job), content_type=CONTENT_TYPE)
