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

import contextlib
import functools
import hashlib
import itertools
import json
import logging
import multiprocessing
import os
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.models import F
from django.utils import timezone, translation

from anju.accounts.models import Project
from anju.core.crypto import encrypt
from anju.core.fields import LookupHashField

from ..indexing import search_terms_for
from ..models import (
    Customer,
    CustomerNeed,
    CustomerPhone,
    CustomerSearchTerm,
    ImportJob,
    ImportRejectedRow,
)
from .reader import reading_process_main
from .reading import count_data_rows, is_blank, iter_rows
from .validation import CleanRow, RowValidator, cell_text

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2000
State = ImportJob.State


class ImportInterrupted(RuntimeError):
    """Another run moved this job on (or finished it) while this chunk was being written."""


@functools.lru_cache(maxsize=8192)
def _terms(name: str) -> tuple[tuple[str, str], ...]:
    # Names repeat a lot in real files (张伟, 王芳...): the common ones stay cached. Small,
    # so memory stays flat (pinyin itself is cached per character in anju.core.normalise).
    return tuple(search_terms_for(name))


def job_language(job: ImportJob) -> str:
    return (job.mapping or {}).get("language") or "zh-hans"


@dataclass
class ChunkResult:
    created: int = 0
    duplicates: int = 0
    rejected: int = 0


# A good row, ready to write (built by `prepare_chunk`, possibly in the reading process):
# (customer values in the order of PREPARED_FIELDS, the ID number already encrypted;
#  phones, E.164, primary first; ID-number hash; search terms; need values
#  (budget from/to, area from/to, notes) or None; names of projects of interest as written)
PREPARED_FIELDS = ("name", "gender", "birthday", "id_number", "id_number_hash",
                   "primary_phone", "occupation", "address", "source_channel")
CUSTOMER_FIELDS = ("company_id", "project_id", "owner_id", *PREPARED_FIELDS)


@dataclass
class PreparedChunk:
    """One chunk of the file, validated and normalised, nothing written yet: `rows` is how
    many file rows it covers (blank ones included), `rejected` holds (row number, cell texts,
    reasons)."""

    rows: int
    good: list[tuple]
    rejected: list[tuple[int, list[str], list[str]]]


def _prepared(clean: CleanRow) -> tuple:
    need = ((clean.budget[0], clean.budget[1], clean.area[0], clean.area[1], clean.notes)
            if clean.has_need else None)
    return ((clean.name, clean.gender, clean.birthday,
             encrypt(clean.id_number) if clean.id_number else "", clean.id_number_hash,
             clean.phones[0] if clean.phones else "", clean.occupation, clean.address,
             clean.source_channel),
            tuple(clean.phones), clean.id_number_hash, _terms(clean.name), need,
            tuple(clean.projects))


def prepare_chunk(validator: RowValidator, rows: list[list], first_row_number: int
                  ) -> PreparedChunk:
    """Validates and normalises one chunk of rows (no database: safe in another process).
    Reasons are worded in the active language."""
    good: list[tuple] = []
    rejected: list[tuple[int, list[str], list[str]]] = []
    validate = validator.validate
    for offset, row in enumerate(rows):
        if is_blank(row):
            continue
        clean, reasons = validate(row)
        if clean is None:
            rejected.append((first_row_number + offset, [cell_text(value) for value in row],
                             reasons))
        else:
            good.append(_prepared(clean))
    return PreparedChunk(rows=len(rows), good=good, rejected=rejected)


class ChunkWriter:
    """Writes prepared chunks of one job; holds what every chunk needs (project names, the
    inserts)."""

    def __init__(self, job: ImportJob):
        self.job = job
        mapping = job.mapping or {}
        self.owner_id = mapping.get("owner") or job.user_id
        self.projects: dict[str, int] = {}
        for pk, name, code in Project.objects.filter(company_id=job.company_id).values_list(
                "id", "name", "code"):
            self.projects[name.casefold()] = pk
            self.projects[code.casefold()] = pk
        self.job_values = (job.company_id, job.project_id, self.owner_id)
        self.postgresql = connection.vendor == "postgresql"
        # the ID number comes encrypted from prepare_chunk
        self.customer_insert = RawInsert(Customer, CUSTOMER_FIELDS, prepared=("id_number",))
        self.phone_insert = RawInsert(CustomerPhone, ("customer_id", "e164", "last4",
                                                      "is_primary"))
        self.term_insert = RawInsert(CustomerSearchTerm, ("customer_id", "kind", "term",
                                                          "owner_id"))
        self.need_insert = RawInsert(CustomerNeed, ("customer_id", "budget_min_wan",
                                                    "budget_max_wan", "area_min", "area_max",
                                                    "notes"))
        through = Customer.interested_projects.through
        self.interest_insert = RawInsert(through, ("customer_id", "project_id"))

    def write(self, chunk: PreparedChunk, *, expected_processed: int) -> ChunkResult:
        result = ChunkResult(rejected=len(chunk.rejected))
        job_id = self.job.pk
        rejected = [ImportRejectedRow(job_id=job_id, row_number=number, values=values,
                                      reasons=reasons)
                    for number, values, reasons in chunk.rejected]
        with transaction.atomic():
            if self.postgresql:
                # The chunk and the counter that records it commit together, so a commit
                # lost to a server crash loses both and the next run redoes the chunk:
                # waiting for the WAL flush on every chunk buys nothing here (it was a
                # third of the import's time).
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            fresh = self._without_duplicates(chunk.good)
            result.duplicates = len(chunk.good) - len(fresh)
            result.created = len(fresh)
            if fresh:
                self._create(fresh)
            if rejected:
                ImportRejectedRow.objects.bulk_create(rejected, batch_size=1000)
            moved = ImportJob.objects.filter(
                pk=job_id, processed_rows=expected_processed,
                state=State.RUNNING,
            ).update(
                processed_rows=expected_processed + chunk.rows,
                created_count=F("created_count") + result.created,
                duplicate_count=F("duplicate_count") + result.duplicates,
                rejected_count=F("rejected_count") + result.rejected,
                updated_at=timezone.now(),
            )
            if moved != 1:
                raise ImportInterrupted(f"import job {job_id} moved on elsewhere")
        return result

    def _without_duplicates(self, good: list[tuple]) -> list[tuple]:
        # Two index lookups per chunk (phones, ID hashes), each one query with one parameter.
        phones = self._known("customers_customerphone", "e164",
                             {phone for row in good for phone in row[1]})
        hashes = self._known("customers_customer", "id_number_hash",
                             {row[2] for row in good if row[2]})
        seen_phones: set[str] = phones
        seen_hashes: set[str] = hashes
        fresh = []
        for row in good:
            row_phones, id_hash = row[1], row[2]
            if (id_hash and id_hash in seen_hashes) or any(
                    phone in seen_phones for phone in row_phones):
                continue
            seen_phones.update(row_phones)
            if id_hash:
                seen_hashes.add(id_hash)
            fresh.append(row)
        return fresh

    def _known(self, table: str, column: str, values: set[str]) -> set[str]:
        """Which of `values` the ledger already holds in table.column (a unique or indexed
        column): `= ANY(array)` on PostgreSQL, `IN (SELECT value FROM json_each(…))` on
        SQLite: an index probe per value, and one parameter instead of thousands (binding
        and parsing a few thousand placeholders cost more than the lookups). The same
        answer as `dedup.customer_ids_by_phone` / `customer_ids_by_id_hash`."""
        if not values:
            return set()
        table, column = connection.ops.quote_name(table), connection.ops.quote_name(column)
        with connection.cursor() as cursor:
            if self.postgresql:
                cursor.execute(f"SELECT {column} FROM {table} "  # noqa: S608
                               f"WHERE {column} = ANY(%s)", [list(values)])
            else:
                cursor.execute(f"SELECT {column} FROM {table} WHERE {column} IN "  # noqa: S608
                               "(SELECT value FROM json_each(%s))", [json.dumps(list(values))])
            return {row[0] for row in cursor.fetchall()}

    def _create(self, fresh: list[tuple]) -> None:
        job_values, owner_id = self.job_values, self.owner_id
        ids = self.customer_insert.insert_returning_ids(
            [job_values + row[0] for row in fresh])
        phone_rows = []
        term_rows = []
        need_rows = []
        interest_rows = []
        for pk, (_customer, phones, _hash, terms, need, projects) in zip(ids, fresh,
                                                                        strict=True):
            primary = True
            for phone in phones:
                phone_rows.append((pk, phone, phone[-4:], primary))
                primary = False
            term_rows.extend([(pk, kind, term, owner_id) for kind, term in terms])
            unknown = None
            if projects:
                project_ids, unknown = self._project_ids(projects)
                interest_rows.extend([(pk, project_id) for project_id in project_ids])
            if need is not None or unknown:
                notes = need[4] if need is not None else ""
                if unknown:
                    notes = "\n".join(filter(None, [notes, "意向项目：" + "、".join(unknown)]))
                if need is None:
                    need_rows.append((pk, None, None, None, None, notes))
                else:
                    need_rows.append((pk, need[0], need[1], need[2], need[3], notes))
        self._insert_phones(phone_rows)
        self._insert_terms(term_rows)
        self.need_insert.insert(need_rows)
        self.interest_insert.insert(interest_rows)

    def _project_ids(self, names) -> tuple[list[int], list[str]]:
        ids: list[int] = []
        unknown: list[str] = []
        for name in names:
            pk = self.projects.get(name.casefold())
            if pk is None:
                unknown.append(name)
            elif pk not in ids:
                ids.append(pk)
        return ids, unknown

    def _insert_phones(self, rows: list[tuple]) -> None:
        self.phone_insert.insert(rows)

    def _insert_terms(self, rows: list[tuple]) -> None:
        self.term_insert.insert(rows)


class RawInsert:
    """Bulk insert of rows built from the model's own fields: each value goes through the
    field's `get_db_prep_save` (so the ID number is encrypted exactly as the ORM would;
    `prepared` names fields whose values come already prepared), every field not given takes
    its default, auto_now(_add) fields take `now`. COPY on PostgreSQL, executemany on SQLite:
    many times faster than `bulk_create`, whose per-object work dominated the import; a
    column added to the model later is picked up by itself."""

    def __init__(self, model, given: tuple[str, ...], *, prepared: tuple[str, ...] = ()):
        self.model = model
        self.fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        self.given = {name: index for index, name in enumerate(given)}
        self.table = connection.ops.quote_name(model._meta.db_table)
        self.column_names = [field.column for field in self.fields]
        self.columns = ", ".join(connection.ops.quote_name(c) for c in self.column_names)
        self.pk_column = model._meta.pk.column
        self.postgresql = connection.vendor == "postgresql"
        # Per column: ("given", index, prep or None) / ("const", value) / ("now",).
        # Plain text and integer columns need no preparation: their values are used as given;
        # nor, for psycopg, which adapts them itself, the validated Decimal and date values
        # (their preparation was a fifth of the writer's time).
        plain: tuple[type, ...] = (models.CharField, models.IntegerField, models.ForeignKey,
                                   models.BooleanField)
        if self.postgresql:
            plain += (models.DecimalField, models.DateField)
        # the connection itself, not the thread-local proxy looked up on every value
        real_connection = connections[DEFAULT_DB_ALIAS]
        self._slots: list[tuple] = []
        for field in self.fields:
            index = self.given.get(field.attname)
            if index is not None:
                needs_prep = (not isinstance(field, plain) or isinstance(field, LookupHashField)
                              ) and field.name not in prepared
                prep = functools.partial(field.get_db_prep_save, connection=real_connection)
                self._slots.append(("given", index, prep if needs_prep else None))
            elif getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
                self._slots.append(("now",))
            else:
                value = field.get_db_prep_save(field.get_default(), connection)
                if self.postgresql and isinstance(field, models.JSONField) and value is not None:
                    # COPY reads text: the constant is serialised once, not once a row
                    value = json.dumps(field.get_default(), cls=field.encoder)
                self._slots.append(("const", value))
        self._build = self._compile()

    def _compile(self):
        """One function `(values, now) -> database row` made from the slots (a generated
        tuple expression: a per-column loop in Python cost more than the database)."""
        env: dict[str, object] = {}
        parts = []
        for position, slot in enumerate(self._slots):
            if slot[0] == "given":
                value = f"v[{slot[1]}]"
                if slot[2] is None:
                    parts.append(value)
                else:
                    env[f"p{position}"] = slot[2]
                    parts.append(f"(None if {value} is None else p{position}({value}))")
            elif slot[0] == "const":
                env[f"c{position}"] = slot[1]
                parts.append(f"c{position}")
            else:
                parts.append("now")
        return eval(f"lambda v, now: ({', '.join(parts)},)", env)  # noqa: S307

    def _row(self, values: tuple, now) -> tuple:
        return self._build(values, now)

    def _now(self):
        now = timezone.now()
        return now if self.postgresql else connection.ops.adapt_datetimefield_value(now)

    def insert(self, rows: list[tuple]) -> None:
        """Inserts the rows (COPY on PostgreSQL, executemany elsewhere)."""
        if not rows:
            return
        build, now = self._build, self._now()
        prepared = [build(row, now) for row in rows]
        with connection.cursor() as cursor:
            if self.postgresql:
                _copy(cursor, self.table, self.columns, prepared)
            else:
                marks = ", ".join(["%s"] * len(self.fields))
                cursor.executemany(
                    f"INSERT INTO {self.table} ({self.columns}) VALUES ({marks})",  # noqa: S608
                    prepared)

    def insert_returning_ids(self, rows: list[tuple]) -> list[int]:
        """Inserts the rows; their new ids in the same order. PostgreSQL: ids drawn from the
        table's sequence in one query, then COPY; elsewhere multi-row INSERT … RETURNING."""
        if not rows:
            return []
        build, now = self._build, self._now()
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            if self.postgresql:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) "
                    "FROM generate_series(1, %s)",
                    [self.model._meta.db_table, self.pk_column, len(rows)])
                ids = [row[0] for row in cursor.fetchall()]
                _copy(cursor, self.table, f"{quote(self.pk_column)}, {self.columns}",
                      [(pk, *build(row, now)) for pk, row in zip(ids, rows, strict=True)])
                return ids
            per_row = len(self.fields)
            batch = max(1, min(1000, 30000 // per_row))
            marks = "(" + ", ".join(["%s"] * per_row) + ")"
            ids = []
            for start in range(0, len(rows), batch):
                part = rows[start:start + batch]
                params = [value for row in part for value in build(row, now)]
                cursor.execute(
                    f"INSERT INTO {self.table} ({self.columns}) VALUES "  # noqa: S608
                    + ", ".join([marks] * len(part)) + f" RETURNING {quote(self.pk_column)}",
                    params)
                ids.extend(row[0] for row in cursor.fetchall())
            return ids


def _copy(cursor, table: str, columns: str, rows: Iterable[tuple]) -> None:
    """PostgreSQL COPY of prepared rows into `table`."""
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        write_row = copy.write_row
        for row in rows:
            write_row(row)


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
    processed = job.processed_rows
    remaining = None if job.total_rows is None else job.total_rows - processed
    parallel = PARALLEL and (remaining is None or remaining >= PARALLEL_MIN_ROWS)
    writer = ChunkWriter(job)
    mapping = job.mapping or {}
    options = {"file_name": job.file.name, "file_path": None, "file_format": job.file_format,
               "columns": mapping.get("columns", {}), "headers": mapping.get("headers", []),
               "language": translation.get_language(), "skip": processed,
               "chunk_size": chunk_size}
    source = read_in_process
    if parallel:
        method = ReadingProcess.start_method()
        if method == "spawn":
            # a fresh process sees files on disk only (not an in-memory storage)
            try:
                path = job.file.path
            except NotImplementedError:
                path = None
            if path and os.path.exists(path):  # not e.g. InMemoryStorage
                options["file_path"] = path
            else:
                method = None
        if method:
            source = functools.partial(ReadingProcess, method)
    with source(**options) as chunks:
        for chunk in chunks:
            writer.write(chunk, expected_processed=processed)
            processed += chunk.rows
    if job.total_rows is None or job.total_rows != processed:
        ImportJob.objects.filter(pk=job.pk).update(total_rows=processed)


# Validation and normalisation (pinyin, phone and ID checks, encryption) run in a second
# process while this one writes the previous chunk: on two cores, reading and writing
# overlap. Small files are not worth starting a process for.
PARALLEL = (os.cpu_count() or 1) > 1
PARALLEL_MIN_ROWS = 20_000


def prepared_chunks(*, file_name: str, file_path: str | None, file_format: str, columns: dict,
                    headers: list, language: str, skip: int, chunk_size: int
                    ) -> Iterator[PreparedChunk]:
    """The file's chunks after the first `skip` data rows, prepared (no database). The file
    is opened by `file_path` when given, else by name from the job's storage."""
    validator = RowValidator(columns=columns, headers=headers)
    if file_path:
        opened = open(file_path, "rb")  # noqa: SIM115  (closed by the with below)
    else:
        opened = ImportJob._meta.get_field("file").storage.open(file_name, "rb")
    with translation.override(language), opened as file:
        rows = iter_rows(file, file_format)
        next(rows, None)  # the header
        rows = itertools.islice(rows, skip, None)
        first = skip + 2  # row numbers as the spreadsheet shows them (the header is 1)
        for chunk in _chunks(rows, chunk_size):
            yield prepare_chunk(validator, chunk, first)
            first += len(chunk)


@contextlib.contextmanager
def read_in_process(**kwargs) -> Iterator[Iterator[PreparedChunk]]:
    yield prepared_chunks(**kwargs)


class ReadingProcess:
    """`prepared_chunks` in a child process, at most QUEUE_CHUNKS ahead of the writer (so
    memory stays flat). The child never touches the database; if it fails, its error is
    raised here; if the writer stops, the child is stopped. Forked when this process has no
    other threads (instant), spawned otherwise."""

    QUEUE_CHUNKS = 2

    @staticmethod
    def start_method() -> str:
        return "fork" if threading.active_count() == 1 and hasattr(os, "fork") else "spawn"

    def __init__(self, method: str, **kwargs):
        self.context = multiprocessing.get_context(method)
        self.queue = self.context.Queue(maxsize=self.QUEUE_CHUNKS)
        self.process = self.context.Process(target=reading_process_main,
                                            args=(self.queue, kwargs), daemon=True)

    def __enter__(self) -> Iterator[PreparedChunk]:
        self.process.start()
        return self._chunks()

    def _chunks(self) -> Iterator[PreparedChunk]:
        while True:
            try:
                item = self.queue.get(timeout=5)
            except queue.Empty:
                if not self.process.is_alive():
                    raise RuntimeError(
                        f"the reading process stopped (exit code {self.process.exitcode})"
                    ) from None
                continue
            if item is None:
                return
            if isinstance(item, str):
                raise RuntimeError(f"reading the file failed: {item}")
            yield item

    def __exit__(self, *exc_info) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=10)
        self.queue.close()
        self.queue.cancel_join_thread()


def file_sha256(file) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    for block in iter(lambda: file.read(1024 * 1024), b""):
        digest.update(block)
    file.seek(0)
    return digest.hexdigest()
