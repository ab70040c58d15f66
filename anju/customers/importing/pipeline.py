"""Chunked, resumable writing of an import job into the ledger.

Each chunk (CHUNK_SIZE rows) is one transaction: its customers, phones, search terms, needs,
projects of interest and rejected rows, and the job's counters, including `processed_rows`.
The counters move by a conditional UPDATE (`processed_rows` must still be what this run read),
so a chunk is written exactly once even if two workers run the same job, and a worker killed
mid-chunk leaves nothing of that chunk behind: the next run skips `processed_rows` rows of the
file and carries on.

Duplicates (same normalised phone or same ID number, inside the file or already in the
ledger) are counted, not created. Earlier chunks are already in the ledger when a later chunk
is checked, so one lookup per chunk covers the whole file, across resumes too."""

import functools
import hashlib
import itertools
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone, translation

from anju.accounts.models import Project
from anju.core.fields import LookupHashField

from ..dedup import customer_ids_by_id_hash, customer_ids_by_phone
from ..indexing import search_terms_for
from ..models import (
    Customer,
    CustomerNeed,
    CustomerPhone,
    CustomerSearchTerm,
    ImportJob,
    ImportRejectedRow,
)
from .reading import count_data_rows, is_blank, iter_rows
from .validation import CleanRow, RowValidator, cell_text

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2000
CUSTOMER_FIELDS = ("company_id", "project_id", "owner_id", "name", "gender", "birthday",
                   "id_number", "id_number_hash", "primary_phone", "occupation", "address",
                   "source_channel")
State = ImportJob.State


class ImportInterrupted(RuntimeError):
    """Another run moved this job on (or finished it) while this chunk was being written."""


@functools.lru_cache(maxsize=100_000)
def _terms(name: str) -> tuple[tuple[str, str], ...]:
    # Names repeat a lot in real files (张伟, 王芳...): pinyin is computed once per name.
    return tuple(search_terms_for(name))


def job_language(job: ImportJob) -> str:
    return (job.mapping or {}).get("language") or "zh-hans"


@dataclass
class ChunkResult:
    created: int = 0
    duplicates: int = 0
    rejected: int = 0


class ChunkWriter:
    """Writes chunks of one job; holds what every chunk needs (validator, project names)."""

    def __init__(self, job: ImportJob):
        self.job = job
        mapping = job.mapping or {}
        self.validator = RowValidator(columns=mapping.get("columns", {}),
                                      headers=mapping.get("headers", []))
        self.owner_id = mapping.get("owner") or job.user_id
        self.projects: dict[str, int] = {}
        for pk, name, code in Project.objects.filter(company_id=job.company_id).values_list(
                "id", "name", "code"):
            self.projects[name.casefold()] = pk
            self.projects[code.casefold()] = pk
        self.use_copy = connection.vendor == "postgresql"
        self.customer_insert = RawInsert(Customer, CUSTOMER_FIELDS)
        self.phone_insert = RawInsert(CustomerPhone, ("customer_id", "e164", "last4",
                                                      "is_primary"))
        self.term_insert = RawInsert(CustomerSearchTerm, ("customer_id", "kind", "term"))
        self.need_insert = RawInsert(CustomerNeed, ("customer_id", "budget_min_wan",
                                                    "budget_max_wan", "area_min", "area_max",
                                                    "notes"))

    def _customer(self, clean: CleanRow) -> tuple:
        # in the order of CUSTOMER_FIELDS
        return (self.job.company_id, self.job.project_id, self.owner_id, clean.name,
                clean.gender, clean.birthday, clean.id_number, clean.id_number_hash,
                clean.phones[0] if clean.phones else "", clean.occupation, clean.address,
                clean.source_channel)

    def write(self, rows: list[list], *, first_row_number: int, expected_processed: int
              ) -> ChunkResult:
        result = ChunkResult()
        good: list[CleanRow] = []
        rejected: list[ImportRejectedRow] = []
        for offset, row in enumerate(rows):
            if is_blank(row):
                continue
            clean, reasons = self.validator.validate(row)
            if clean is None:
                rejected.append(ImportRejectedRow(
                    job_id=self.job.pk, row_number=first_row_number + offset,
                    values=[cell_text(value) for value in row], reasons=reasons))
            else:
                good.append(clean)
        result.rejected = len(rejected)

        with transaction.atomic():
            fresh = self._without_duplicates(good)
            result.duplicates = len(good) - len(fresh)
            result.created = len(fresh)
            if fresh:
                self._create(fresh)
            if rejected:
                ImportRejectedRow.objects.bulk_create(rejected, batch_size=1000)
            moved = ImportJob.objects.filter(
                pk=self.job.pk, processed_rows=expected_processed,
                state=State.RUNNING,
            ).update(
                processed_rows=expected_processed + len(rows),
                created_count=F("created_count") + result.created,
                duplicate_count=F("duplicate_count") + result.duplicates,
                rejected_count=F("rejected_count") + result.rejected,
                updated_at=timezone.now(),
            )
            if moved != 1:
                raise ImportInterrupted(f"import job {self.job.pk} moved on elsewhere")
        return result

    def _without_duplicates(self, good: list[CleanRow]) -> list[CleanRow]:
        phones = customer_ids_by_phone(phone for clean in good for phone in clean.phones)
        hashes = customer_ids_by_id_hash(clean.id_number_hash for clean in good)
        seen_phones: set[str] = set(phones)
        seen_hashes: set[str] = set(hashes)
        fresh = []
        for clean in good:
            if (clean.id_number_hash and clean.id_number_hash in seen_hashes) or any(
                    phone in seen_phones for phone in clean.phones):
                continue
            seen_phones.update(clean.phones)
            if clean.id_number_hash:
                seen_hashes.add(clean.id_number_hash)
            fresh.append(clean)
        return fresh

    def _create(self, fresh: list[CleanRow]) -> None:
        ids = self.customer_insert.insert([self._customer(clean) for clean in fresh],
                                          returning=True)
        now = timezone.now()
        phone_rows = []
        term_rows = []
        need_rows = []
        interest_rows = []
        through = Customer.interested_projects.through
        for pk, clean in zip(ids, fresh, strict=True):
            for position, phone in enumerate(clean.phones):
                phone_rows.append((pk, phone, phone[-4:], position == 0))
            term_rows.extend((pk, kind, term) for kind, term in _terms(clean.name))
            project_ids, unknown = self._project_ids(clean.projects)
            interest_rows.extend(through(customer_id=pk, project_id=project_id)
                                 for project_id in project_ids)
            if clean.has_need or unknown:
                notes = clean.notes
                if unknown:
                    notes = "\n".join(filter(None, [notes, "意向项目：" + "、".join(unknown)]))
                need_rows.append((pk, clean.budget[0], clean.budget[1], clean.area[0],
                                  clean.area[1], notes))
        self._insert_phones(phone_rows, now)
        self._insert_terms(term_rows)
        self.need_insert.insert(need_rows)
        if interest_rows:
            through.objects.bulk_create(interest_rows, batch_size=1000)

    def _project_ids(self, names: list[str]) -> tuple[list[int], list[str]]:
        ids: list[int] = []
        unknown: list[str] = []
        for name in names:
            pk = self.projects.get(name.casefold())
            if pk is None:
                unknown.append(name)
            elif pk not in ids:
                ids.append(pk)
        return ids, unknown

    def _insert_phones(self, rows: list[tuple], now) -> None:
        if not rows:
            return
        if self.use_copy:
            table = CustomerPhone._meta.db_table
            _copy(table, ("customer_id", "e164", "last4", "label", "is_primary", "created_at",
                          "updated_at"),
                  ((pk, e164, last4, "", primary, now, now)
                   for pk, e164, last4, primary in rows))
            return
        self.phone_insert.insert(rows)

    def _insert_terms(self, rows: list[tuple]) -> None:
        if not rows:
            return
        if self.use_copy:
            _copy(CustomerSearchTerm._meta.db_table, ("customer_id", "kind", "term"), rows)
            return
        self.term_insert.insert(rows)


class RawInsert:
    """A multi-row INSERT built from the model's own fields: each value goes through the
    field's `get_db_prep_save` (so the ID number is encrypted exactly as the ORM would), every
    field not given takes its default, auto_now(_add) fields take `now`. Several times faster
    than `bulk_create`, whose per-object work dominated the import; a column added to the
    model later is picked up by itself."""

    def __init__(self, model, given: tuple[str, ...]):
        self.model = model
        self.fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        self.given = {name: index for index, name in enumerate(given)}
        self.table = connection.ops.quote_name(model._meta.db_table)
        self.columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        self.pk_column = connection.ops.quote_name(model._meta.pk.column)
        # Per column: ("given", index, prep or None) / ("const", value) / ("now",).
        # Plain text and integer columns need no preparation: their values are used as given.
        plain = (models.CharField, models.IntegerField, models.ForeignKey, models.BooleanField)
        self._slots: list[tuple] = []
        for field in self.fields:
            index = self.given.get(field.attname)
            if index is not None:
                needs_prep = not isinstance(field, plain) or isinstance(field, LookupHashField)
                prep = functools.partial(field.get_db_prep_save, connection=connection)
                self._slots.append(("given", index, prep if needs_prep else None))
            elif getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
                self._slots.append(("now",))
            else:
                self._slots.append(("const", field.get_db_prep_save(field.get_default(),
                                                                    connection)))

    def _row(self, values: tuple, now) -> list:
        out = []
        for slot in self._slots:
            kind = slot[0]
            if kind == "given":
                value = values[slot[1]]
                out.append(slot[2](value) if slot[2] is not None and value is not None
                           else value)
            elif kind == "const":
                out.append(slot[1])
            else:
                out.append(now)
        return out

    def insert(self, rows: list[tuple], *, returning: bool = False) -> list[int]:
        """Inserts the rows; with `returning`, their new ids in the same order."""
        if not rows:
            return []
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        per_row = len(self.fields)
        batch = max(1, min(1000, 30000 // per_row))
        marks = "(" + ", ".join(["%s"] * per_row) + ")"
        ids: list[int] = []
        with connection.cursor() as cursor:
            for start in range(0, len(rows), batch):
                part = rows[start:start + batch]
                params = [value for row in part for value in self._row(row, now)]
                sql = (f"INSERT INTO {self.table} ({self.columns}) VALUES "  # noqa: S608
                       + ", ".join([marks] * len(part)))
                if returning:
                    cursor.execute(sql + f" RETURNING {self.pk_column}", params)
                    ids.extend(row[0] for row in cursor.fetchall())
                else:
                    cursor.execute(sql, params)
        return ids


def _copy(table: str, columns: Iterable[str], rows: Iterable[tuple]) -> None:
    """PostgreSQL COPY into `table` (plain columns, no pre_save work needed): several times
    faster than a multi-row INSERT for the many small rows of phones and search terms."""
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _chunks(rows: Iterator[list], size: int) -> Iterator[list[list]]:
    while True:
        chunk = list(itertools.islice(rows, size))
        if not chunk:
            return
        yield chunk


def import_job_process(*, job_id: int, chunk_size: int = CHUNK_SIZE) -> ImportJob:
    """Runs (or resumes) one job to the end. Called by the task; safe to call again."""
    job = ImportJob.objects.get(pk=job_id)
    if job.state in (State.DONE, State.UPLOADED, State.PREVIEWED):
        return job
    now = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(
        state=State.RUNNING, started_at=job.started_at or now, error="", updated_at=now)
    job.refresh_from_db()
    try:
        with translation.override(job_language(job)):
            _run(job, chunk_size)
    except ImportInterrupted:
        logger.info("import job %s: another run carries on", job.pk)
        return ImportJob.objects.get(pk=job.pk)
    except Exception as exc:
        logger.exception("import job %s failed at row %s", job.pk, job.processed_rows)
        ImportJob.objects.filter(pk=job.pk, state=State.RUNNING).update(
            state=State.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000],
            updated_at=timezone.now())
        raise
    ImportJob.objects.filter(pk=job.pk, state=State.RUNNING).update(
        state=State.DONE, finished_at=timezone.now(), updated_at=timezone.now())
    return ImportJob.objects.get(pk=job.pk)


def _run(job: ImportJob, chunk_size: int) -> None:
    if job.total_rows is None:
        with job.file.open("rb") as file:
            total = count_data_rows(file, job.file_format)
        ImportJob.objects.filter(pk=job.pk).update(total_rows=total)
        job.total_rows = total
    writer = ChunkWriter(job)
    processed = job.processed_rows
    with job.file.open("rb") as file:
        rows = iter_rows(file, job.file_format)
        next(rows, None)  # the header
        rows = itertools.islice(rows, processed, None)
        for chunk in _chunks(rows, chunk_size):
            writer.write(chunk, first_row_number=processed + 2, expected_processed=processed)
            processed += len(chunk)
    if job.total_rows is None or job.total_rows != processed:
        ImportJob.objects.filter(pk=job.pk).update(total_rows=processed)


def file_sha256(file) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    for block in iter(lambda: file.read(1024 * 1024), b""):
        digest.update(block)
    file.seek(0)
    return digest.hexdigest()
