"""Reads of imports: the jobs a user may see, a preview of a job's first rows."""

from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.http import Http404
from django.utils import translation

from anju.core.scoping import ScopeSpec

from ..dedup import customer_ids_by_id_hash, customer_ids_by_phone
from ..models import ImportJob
from .pipeline import job_language
from .reading import is_blank, iter_rows
from .validation import RowValidator, cell_text

PREVIEW_ROWS = 20
# An import is seen by whoever uploaded it, and by those whose scope covers its project or
# company (a manager follows the team's imports).
JOB_SCOPE = ScopeSpec(owner="user", project="project", company="company")


def import_job_list(*, viewer) -> QuerySet[ImportJob]:
    if not getattr(viewer, "is_authenticated", False):
        return ImportJob.objects.none()
    condition = JOB_SCOPE.filter_for(viewer.data_scope())
    jobs = ImportJob.objects.select_related("user", "company", "project")
    return jobs if condition is None else jobs.filter(condition)


def import_job_get(*, viewer, pk: int) -> ImportJob:
    try:
        return import_job_list(viewer=viewer).get(pk=pk)
    except ImportJob.DoesNotExist as exc:
        raise Http404 from exc


@dataclass
class PreviewRow:
    row_number: int
    values: list[str]
    status: str  # "ok", "duplicate", "rejected"
    reasons: list[str] = field(default_factory=list)


def import_preview(*, job: ImportJob, limit: int = PREVIEW_ROWS) -> list[PreviewRow]:
    """The first `limit` non-blank rows as they would be imported (2 queries)."""
    mapping = job.mapping or {}
    validator = RowValidator(columns=mapping.get("columns", {}),
                             headers=mapping.get("headers", []))
    width = len(mapping.get("headers", []))
    rows: list[tuple[PreviewRow, object]] = []
    with translation.override(job_language(job)), job.file.open("rb") as file:
        reader = iter_rows(file, job.file_format)
        next(reader, None)
        for number, row in enumerate(reader, start=2):
            if is_blank(row):
                continue
            clean, reasons = validator.validate(row)
            values = [cell_text(value) for value in row[:width]]
            preview = PreviewRow(number, values, "rejected" if reasons else "ok", reasons)
            rows.append((preview, clean))
            if len(rows) >= limit:
                break
    cleans = [clean for _p, clean in rows if clean is not None]
    phones = set(customer_ids_by_phone(p for clean in cleans for p in clean.phones))
    hashes = set(customer_ids_by_id_hash(clean.id_number_hash for clean in cleans))
    for preview, clean in rows:
        if clean is None:
            continue
        if (clean.id_number_hash and clean.id_number_hash in hashes) or any(
                phone in phones for phone in clean.phones):
            preview.status = "duplicate"
        phones.update(clean.phones)
        if clean.id_number_hash:
            hashes.add(clean.id_number_hash)
    return [preview for preview, _c in rows]


def import_job_seen_before(*, job: ImportJob) -> ImportJob | None:
    """An earlier finished import of the very same file (same SHA-256), if any."""
    return (ImportJob.objects.filter(file_sha256=job.file_sha256, user_id=job.user_id,
                                     state=ImportJob.State.DONE)
            .exclude(pk=job.pk).order_by("-id").first())
