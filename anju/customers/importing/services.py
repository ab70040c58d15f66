"""Business actions of an import: create a job from an upload, set its mapping, start it,
resume it. The pages and the API call these; the work itself runs in `tasks.import_job_run`."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.accounts.models import Company, Project, ScopeLevel, User

from ..models import ImportJob
from .mapping import FIELDS, auto_mapping, mapping_problems
from .pipeline import file_sha256
from .reading import SAMPLE_BYTES, detect_format, iter_rows
from .validation import cell_text

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
State = ImportJob.State
EDITABLE_STATES = (State.UPLOADED, State.PREVIEWED)


def max_upload_bytes() -> int:
    return int(getattr(settings, "ANJU_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def owner_choices(*, actor: User):
    """Who may own the imported customers: the actor, or (above own scope) any active user
    the actor can see."""
    if actor.scope_level_in_force == ScopeLevel.OWN:
        return User.objects.filter(pk=actor.pk)
    return User.objects.visible_to(actor).filter(is_active=True).order_by("username")


def _read_headers(upload: UploadedFile, file_format: str) -> list[str]:
    rows = iter_rows(upload, file_format)
    try:
        header = next(rows, None)
    except ValidationError:
        raise
    except Exception as exc:  # a damaged workbook or text file: say so, never a 500
        raise ValidationError(_("This file cannot be read: %(error)s") % {"error": exc},
                              code="unreadable") from exc
    finally:
        rows.close()
    headers = [cell_text(value) for value in (header or [])]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise ValidationError(_("The file is empty: the first row must name the columns."),
                              code="empty")
    return headers


@transaction.atomic
def import_job_create(
    *, actor: User, upload: UploadedFile, company: Company | None = None,
    project: Project | None = None, owner: User | None = None, language: str = "zh-hans",
) -> ImportJob:
    """Stores the upload and proposes a mapping from its headers; nothing is imported yet."""
    errors: dict[str, list[str]] = {}
    if project is not None:
        if not Project.objects.visible_to(actor).filter(pk=project.pk).exists():
            errors["project"] = [_("You cannot import into this project.")]
        company = company or project.company
        if company.pk != project.company_id:
            errors["project"] = [_("This project belongs to another company.")]
    if company is None:
        errors.setdefault("company", [_("Choose the company or the project to import into.")])
    elif not Company.objects.visible_to(actor).filter(pk=company.pk).exists():
        errors.setdefault("company", [_("You cannot import into this company.")])
    if owner is not None and not owner_choices(actor=actor).filter(pk=owner.pk).exists():
        errors["owner"] = [_("You cannot give customers to this user.")]
    if upload.size > max_upload_bytes():
        errors["file"] = [_("The file is %(size)s; at most %(limit)s can be imported at once.")
                          % {"size": filesizeformat(upload.size),
                             "limit": filesizeformat(max_upload_bytes())}]
    elif upload.size == 0:
        errors["file"] = [_("The file is empty.")]
    if errors:
        raise ValidationError(errors)

    upload.seek(0)
    head = upload.read(SAMPLE_BYTES)
    try:
        file_format = detect_format(upload.name, head)
        headers = _read_headers(upload, file_format)
    except ValidationError as error:
        raise ValidationError({"file": error.messages}) from error
    columns, _unknown = auto_mapping(headers)
    digest = file_sha256(upload)
    job = ImportJob(
        user=actor, company=company, project=project, original_name=upload.name[:200],
        file_sha256=digest, file_format=file_format,
        mapping={"columns": columns, "headers": headers, "language": language,
                 "owner": owner.pk if owner else actor.pk},
    )
    upload.seek(0)
    job.file.save(f"{digest[:16]}.{file_format}", upload, save=False)
    job.save()
    return job


def _check_access(actor: User, job: ImportJob) -> None:
    if job.user_id != actor.pk and not actor.is_superuser:
        raise PermissionDenied(_("Only the person who uploaded this file may change it."))


@transaction.atomic
def import_job_set_mapping(*, actor: User, job: ImportJob, columns: dict[str, str]
                           ) -> ImportJob:
    """Sets which column holds which field (column index -> field, "" to ignore)."""
    _check_access(actor, job)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.state not in EDITABLE_STATES:
        raise ValidationError({"mapping": [_("This import has started: its columns can no "
                                             "longer be changed.")]})
    headers = job.mapping.get("headers", [])
    cleaned = {}
    for index in range(len(headers)):
        field = columns.get(str(index), "") or ""
        if field and field not in FIELDS:
            raise ValidationError({"mapping": [_("Unknown field: %(field)s")
                                               % {"field": field}]})
        cleaned[str(index)] = field
    problems = mapping_problems(cleaned)
    if problems:
        raise ValidationError({"mapping": problems})
    job.mapping = {**job.mapping, "columns": cleaned}
    job.state = State.PREVIEWED
    job.save(update_fields=["mapping", "state", "updated_at"])
    return job


@transaction.atomic
def import_job_start(*, actor: User, job: ImportJob) -> ImportJob:
    """Queues the import; the task starts when this transaction commits."""
    from .tasks import import_job_run

    _check_access(actor, job)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.state not in EDITABLE_STATES:
        raise ValidationError({"state": [_("This import has already been started.")]})
    problems = mapping_problems(job.mapping.get("columns", {}))
    if problems:
        raise ValidationError({"mapping": problems})
    job.state = State.QUEUED
    job.save(update_fields=["state", "updated_at"])
    job_id = job.pk
    transaction.on_commit(lambda: import_job_run.enqueue(job_id))
    return job


@transaction.atomic
def import_job_resume(*, actor: User, job: ImportJob) -> ImportJob:
    """Queues a failed (or stalled) job again; it carries on after its last written chunk."""
    from .tasks import STALLED_AFTER, import_job_run

    _check_access(actor, job)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    stalled = (job.state == State.RUNNING
               and job.updated_at < timezone.now() - STALLED_AFTER)
    if job.state != State.FAILED and not stalled:
        raise ValidationError({"state": [_("Only a failed or stalled import can be resumed.")]})
    job.state = State.QUEUED
    job.save(update_fields=["state", "updated_at"])
    job_id = job.pk
    transaction.on_commit(lambda: import_job_run.enqueue(job_id))
    return job
