"""Leads from an xlsx sheet (an exhibition's sign-up list, a platform's export), worked
through in the background.

`lead_import_run` (page and API) checks the upload (project in the uploader's scope, at most
MAX_BYTES, a readable xlsx whose first row names the columns), stores it, creates the
`LeadImport` queued and enqueues `tasks.lead_import_work`. The task
(`lead_import_process`) runs as the uploader: it counts the data rows, then streams the
sheet (openpyxl read-only, so memory stays flat whatever the number of rows) and sends every
row through `lead_capture` like any other lead, BATCH_SIZE rows to a transaction whose commit
also moves the job's counters, so the page can show progress. A bad row is kept with its
reasons and comes back in the error sheet (the file's columns, then the reason and the row
number). A crash of the task marks the job failed with a readable message; a job whose worker
died is marked failed by `lead_imports_fail_stalled` (periodic), never left running.

No cap on the number of rows, only on the file's size."""

import datetime
import logging
import os
import posixpath
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from typing import IO, Any
from xml.etree.ElementTree import iterparse

import openpyxl
import xlsxwriter
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from anju.accounts.models import Project, User
from anju.core.exports import neutralise

from .models import Channel, Lead, LeadImport, Timing
from .services import lead_capture

logger = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024
BATCH_SIZE = 100
STALLED_AFTER = datetime.timedelta(minutes=10)
Status = LeadImport.Status
HEADERS = {
    "name": {"name", "姓名", "客户姓名", "客户"},
    "phone": {"phone", "mobile", "手机", "手机号", "电话", "联系电话"},
    "budget_wan": {"budget", "budget_wan", "预算", "预算(万元)", "预算（万元）"},
    "timing": {"timing", "购房时间", "计划购房时间"},
    "unit_type": {"unit type", "unit_type", "户型", "意向户型"},
    "notes": {"notes", "备注"},
}
TIMING_WORDS = {str(label): value for value, label in Timing.choices} | {
    "1个月内": "1m", "一个月内": "1m", "3个月内": "3m", "三个月内": "3m", "6个月内": "6m",
    "半年内": "6m", "半年以后": "later"}


class ImportStopped(Exception):
    """The job cannot go on; the message is for the person who uploaded the file."""


def _column_map(headers: list[str]) -> dict[str, int]:
    found = {}
    for index, header in enumerate(headers):
        text = str(header or "").strip().lower()
        for field, names in HEADERS.items():
            if text in names and field not in found:
                found[field] = index
    return found


def _cell(row: tuple, index: int | None) -> Any:
    if index is None or index >= len(row):
        return ""
    value = row[index]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _open_sheet(file: IO[bytes]):
    """The first worksheet, streamed. The dimensions some writers put in the file are
    ignored (a wrong one would cut the rows short)."""
    workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()
    return workbook, sheet


def _blank(row: tuple) -> bool:
    return not any(value not in (None, "") for value in row)


def _data_rows(file: IO[bytes]) -> Iterator[tuple[int, tuple]]:
    """(row number in the file, values) of every non-blank row under the header."""
    workbook, sheet = _open_sheet(file)
    try:
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > 1 and not _blank(row):
                yield number, row
    finally:
        workbook.close()


# --- the upload -----------------------------------------------------------------------------

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _xml(archive: zipfile.ZipFile, name: str, events: tuple = ("end",)):
    # The parser openpyxl uses too; expat (2.4+) refuses entity-expansion bombs.
    return iterparse(archive.open(name), events=events)  # noqa: S314


def _column_index(reference: str) -> int | None:
    letters = "".join(ch for ch in reference if ch.isalpha()).upper()
    if not letters:
        return None
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def _first_row_fast(file: IO[bytes]) -> list[str]:
    """The first row of the first worksheet, read straight from the xlsx's XML: only up to
    the end of that row, and only the shared strings it uses. (openpyxl reads every shared
    string of the file first: seconds for a big sheet, inside the upload's request.)"""
    with zipfile.ZipFile(file) as archive:
        sheet_id = None
        for _event, element in _xml(archive, "xl/workbook.xml"):
            if element.tag == f"{_MAIN}sheet":
                sheet_id = element.get(f"{_DOC_REL}id")
                break
        targets, shared_path = {}, None
        for _event, element in _xml(archive, "xl/_rels/workbook.xml.rels"):
            if element.tag == f"{_PKG_REL}Relationship":
                target = element.get("Target", "")
                path = (target.lstrip("/") if target.startswith("/")
                        else posixpath.normpath(posixpath.join("xl", target)))
                targets[element.get("Id")] = path
                if element.get("Type", "").endswith("/sharedStrings"):
                    shared_path = path
        cells: dict[int, tuple[str, str]] = {}
        position = 0
        for _event, element in _xml(archive, targets[sheet_id]):
            if element.tag == f"{_MAIN}c":
                column = _column_index(element.get("r", ""))
                position = position if column is None else column
                kind = element.get("t", "n")
                if kind == "inlineStr":
                    text = "".join(t.text or "" for t in element.iter(f"{_MAIN}t"))
                    cells[position] = ("text", text)
                else:
                    value = element.find(f"{_MAIN}v")
                    if value is not None and value.text is not None:
                        cells[position] = ("shared" if kind == "s" else "text", value.text)
                position += 1
            elif element.tag == f"{_MAIN}row":
                if element.get("r", "1") != "1":
                    cells = {}  # the first row is empty
                break
        needed = {int(value) for kind, value in cells.values() if kind == "shared"}
        shared: dict[int, str] = {}
        if needed:
            index = 0
            for _event, element in _xml(archive, shared_path):
                if element.tag == f"{_MAIN}si":
                    if index in needed:
                        parts = [element.find(f"{_MAIN}t")] + [
                            run.find(f"{_MAIN}t") for run in element.findall(f"{_MAIN}r")]
                        shared[index] = "".join(t.text or "" for t in parts if t is not None)
                    element.clear()
                    index += 1
                    if index > max(needed):
                        break
    row = [""] * (max(cells) + 1 if cells else 0)
    for column, (kind, value) in cells.items():
        row[column] = shared[int(value)] if kind == "shared" else value
    return row


def _read_headers(upload: UploadedFile) -> list[str]:
    try:
        upload.seek(0)
        first = _first_row_fast(upload)
    except Exception:  # an unusual layout: let openpyxl read it (slower, same answer)
        try:
            upload.seek(0)
            workbook, sheet = _open_sheet(upload)
            try:
                first = next(sheet.iter_rows(max_row=1, values_only=True), ())
            finally:
                workbook.close()
        except Exception:
            raise ValidationError({"file": _("This is not a readable xlsx file.")}) from None
    headers = [str(value or "").strip() for value in first]
    while headers and not headers[-1]:
        headers.pop()
    return headers


def lead_import_run(*, actor: User, project: Project, channel: Channel | None,
                    upload: UploadedFile) -> LeadImport:
    """Checks and stores the upload and queues its import; returns the job (queued, or
    already done with a backend that runs tasks at once). Raises ValidationError naming the
    field at fault; nothing is stored then."""
    if not Project.objects.visible_to(actor).filter(pk=project.pk).exists():
        raise ValidationError({"project": _("You can only choose projects you can see.")})
    size = getattr(upload, "size", 0) or 0
    if size > MAX_BYTES:
        raise ValidationError({"file": _(
            "The file is %(size)s; at most %(limit)s can be imported at once.") % {
            "size": filesizeformat(size), "limit": filesizeformat(MAX_BYTES)}})
    if size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    headers = _read_headers(upload)
    columns = _column_map(headers)
    missing = [field for field in ("name", "phone") if field not in columns]
    if missing:
        raise ValidationError({"file": _("The first row must name the columns; missing: "
                                         "%(columns)s.") % {"columns": ", ".join(missing)}})
    with transaction.atomic():
        job = LeadImport(project=project, channel=channel, created_by=actor,
                         original_name=str(getattr(upload, "name", ""))[:200],
                         headers=headers, status=Status.QUEUED,
                         language=translation.get_language() or "zh-hans")
        upload.seek(0)
        job.file.save(f"{uuid.uuid4().hex}.xlsx", upload, save=False)
        job.save()
    _enqueue(job.pk)
    job.refresh_from_db()
    return job


def _enqueue(job_id: int) -> None:
    """A queue's worker must find the committed row, so the task is sent when the caller's
    transaction commits. A backend that runs tasks at once in this process (tests, the
    `immediate` setting) runs it now, inside the caller's transaction."""
    from django.tasks.backends.immediate import ImmediateBackend

    from .tasks import lead_import_work

    if isinstance(lead_import_work.get_backend(), ImmediateBackend):
        _send(job_id)
    else:
        transaction.on_commit(lambda: _send(job_id))


def _send(job_id: int) -> None:
    from .tasks import lead_import_work

    try:
        lead_import_work.enqueue(job_id)
    except Exception as exc:
        logger.exception("lead import %s could not be queued", job_id)
        _finish(job_id, status=Status.FAILED, error=_(
            "The import could not be queued (%(error)s). Please upload the file again in a "
            "few minutes.") % {"error": type(exc).__name__})


# --- the work (the task) --------------------------------------------------------------------

def lead_import_process(*, job_id: int, batch_size: int = BATCH_SIZE) -> LeadImport:
    """Runs one queued job to the end, as its uploader. A job that is not queued (done,
    failed, or taken by another worker) is left alone. Any error ends the job failed with a
    message, and is raised again for the task's own record."""
    now = timezone.now()
    claimed = LeadImport.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, updated_at=now, error="")
    job = LeadImport.objects.select_related("project", "channel", "created_by").get(pk=job_id)
    if not claimed:
        return job
    with translation.override(job.language or "zh-hans"):
        progress = _Progress()
        try:
            _work(job, batch_size, progress)
        except ImportStopped as stop:
            _finish(job.pk, status=Status.FAILED, error=str(stop))
        except Exception as exc:
            logger.exception("lead import %s failed after row %s", job.pk, progress.last_row)
            _finish(job.pk, status=Status.FAILED, error=_(
                "The import stopped because of an error (%(error)s). Rows up to row "
                "%(row)s of the file are saved (%(done)s rows read); upload a file with the "
                "rows after it to finish.") % {"error": type(exc).__name__,
                                               "row": progress.last_row,
                                               "done": progress.counts["total"]})
            raise
        else:
            _finish(job.pk, status=Status.DONE)
        finally:
            _drop_upload(job)
    return LeadImport.objects.get(pk=job.pk)


class _Progress:
    """What the committed batches have done so far."""

    def __init__(self) -> None:
        self.counts = {"total": 0, "created": 0, "known": 0, "rejected": 0}
        self.kept: list[dict] = []
        self.last_row = 1  # the header


def _actor(job: LeadImport) -> User:
    actor = job.created_by
    if actor is None or not actor.is_active:
        raise ImportStopped(_("The person who uploaded the file can no longer sign in; "
                              "nothing was imported."))
    if not Project.objects.visible_to(actor).filter(pk=job.project_id).exists():
        raise ImportStopped(_("The person who uploaded the file can no longer see project "
                              "%(project)s; nothing was imported.") % {
            "project": job.project.name})
    return actor


def _work(job: LeadImport, batch_size: int, progress: _Progress) -> None:
    actor = _actor(job)
    storage = job.file.storage
    if not job.file.name or not storage.exists(job.file.name):
        raise ImportStopped(_("The uploaded file is gone; please upload it again."))
    with storage.open(job.file.name, "rb") as file:
        total_rows = sum(1 for _row in _data_rows(file))
    LeadImport.objects.filter(pk=job.pk).update(total_rows=total_rows,
                                                updated_at=timezone.now())
    columns = _column_map(job.headers)
    sheet = _RejectedSheet(job.headers)
    try:
        with storage.open(job.file.name, "rb") as file:
            batch: list[tuple[int, tuple]] = []
            for item in _data_rows(file):
                batch.append(item)
                if len(batch) >= batch_size:
                    _write_batch(job, actor, columns, batch, progress, sheet)
                    batch = []
            if batch:
                _write_batch(job, actor, columns, batch, progress, sheet)
    finally:
        sheet.save(job)


def _write_batch(job: LeadImport, actor: User, columns: dict[str, int],
                 batch: list[tuple[int, tuple]], progress: _Progress,
                 sheet: "_RejectedSheet") -> None:
    counts = dict(progress.counts)
    rejected = []
    with transaction.atomic():
        for number, row in batch:
            counts["total"] += 1
            timing = str(_cell(row, columns.get("timing"))).strip()
            try:
                with transaction.atomic():
                    result = lead_capture(
                        project=job.project, channel=job.channel, actor=actor,
                        method=Lead.Method.IMPORT, name=_cell(row, columns["name"]),
                        phone=str(_cell(row, columns["phone"])),
                        budget_wan=_cell(row, columns.get("budget_wan")),
                        timing=TIMING_WORDS.get(timing, timing),
                        unit_type=_cell(row, columns.get("unit_type")),
                        notes=_cell(row, columns.get("notes")))
            except ValidationError as error:
                rejected.append({"row": number, "values": [_text(v) for v in row],
                                 "reasons": _reasons(error)})
                continue
            if result.created and not result.known_customer:
                counts["created"] += 1
            else:
                counts["known"] += 1
        counts["rejected"] += len(rejected)
        room = LeadImport.REJECTED_KEPT - len(progress.kept)
        kept = progress.kept + rejected[:room] if room > 0 and rejected else progress.kept
        fields = {**counts, "updated_at": timezone.now()}
        if kept is not progress.kept:
            fields["rejected_rows"] = kept
        LeadImport.objects.filter(pk=job.pk).update(**fields)
    # committed: the batch counts
    progress.counts, progress.kept, progress.last_row = counts, kept, batch[-1][0]
    sheet.add(rejected)


def _reasons(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [f"{_field_label(field)}: {message}"
                for field, messages in error.message_dict.items() for message in messages]
    return list(error.messages)


def _field_label(field: str) -> str:
    labels = {"name": _("name"), "phone": _("phone"), "budget_wan": _("budget (万元)"),
              "timing": _("when buying"), "unit_type": _("unit type wanted"),
              "notes": _("notes"), "channel": _("channel"), "project": _("project"),
              "referrer": _("referred by")}
    return str(labels.get(field, field))


def _finish(job_id: int, *, status: str, error: str = "") -> None:
    now = timezone.now()
    LeadImport.objects.filter(pk=job_id, status__in=[Status.QUEUED, Status.RUNNING]).update(
        status=status, error=error[:2000], finished_at=now, updated_at=now)


def _drop_upload(job: LeadImport) -> None:
    """The uploaded sheet (phones in clear) is not kept once the job has ended."""
    name = job.file.name
    if not name:
        return
    try:
        job.file.storage.delete(name)
    except Exception:
        logger.exception("lead import %s: could not delete %s", job.pk, name)
    LeadImport.objects.filter(pk=job.pk).update(file="")


def lead_imports_fail_stalled(*, now: datetime.datetime | None = None) -> int:
    """Running jobs silent for STALLED_AFTER lost their worker (killed, machine restarted):
    they end failed with a message, never stay "running". Returns how many."""
    cutoff = (now or timezone.now()) - STALLED_AFTER
    stalled = list(LeadImport.objects.filter(status=Status.RUNNING, updated_at__lt=cutoff))
    for job in stalled:
        with translation.override(job.language or "zh-hans"):
            _finish(job.pk, status=Status.FAILED, error=_(
                "The import stopped: its worker went away after %(done)s rows. Those rows "
                "are saved; upload a file with the remaining rows to finish.") % {
                "done": job.total})
        _drop_upload(job)
        logger.warning("lead import %s stalled: marked failed", job.pk)
    return len(stalled)


# --- the error sheet ------------------------------------------------------------------------

def _sheet_headers(headers: list[str]) -> list[str]:
    return [*headers, _("Reason rejected"), _("Row in the uploaded file")]


def _write_rejected(sheet, index: int, item: dict, width: int) -> None:
    for column, value in enumerate(item["values"][:width]):
        if value:
            sheet.write_string(index, column, neutralise(str(value)))
    sheet.write_string(index, width, neutralise("；".join(item["reasons"])))
    sheet.write_number(index, width + 1, item["row"])


class _RejectedSheet:
    """The error sheet, written row by row as the batches commit (constant memory), and
    stored on the job when the work ends."""

    def __init__(self, headers: list[str]) -> None:
        self.headers = list(headers)
        self.path = ""
        self.workbook = None
        self.sheet = None
        self.index = 0

    def add(self, items: list[dict]) -> None:
        if not items:
            return
        if self.workbook is None:
            handle, self.path = tempfile.mkstemp(suffix=".xlsx")
            os.close(handle)
            self.workbook = xlsxwriter.Workbook(self.path, {"constant_memory": True})
            self.sheet = self.workbook.add_worksheet()
            for column, header in enumerate(_sheet_headers(self.headers)):
                self.sheet.write_string(0, column, neutralise(str(header)))
        for item in items:
            self.index += 1
            _write_rejected(self.sheet, self.index, item, len(self.headers))

    def save(self, job: LeadImport) -> None:
        if self.workbook is None:
            return
        try:
            self.workbook.close()
            with open(self.path, "rb") as file:
                job.error_file.save(f"{uuid.uuid4().hex}.xlsx", File(file), save=False)
            LeadImport.objects.filter(pk=job.pk).update(error_file=job.error_file.name)
        finally:
            os.unlink(self.path)


def error_sheet(job: LeadImport) -> IO[bytes]:
    """Every rejected row as an xlsx file, positioned at 0: the sheet the task wrote, or
    (imports from before it did) one made from the rows kept on the job."""
    if job.error_file and job.error_file.storage.exists(job.error_file.name):
        return job.error_file.storage.open(job.error_file.name, "rb")
    out = tempfile.TemporaryFile()  # noqa: SIM115  (FileResponse closes it)
    workbook = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = workbook.add_worksheet()
    for column, header in enumerate(_sheet_headers(job.headers)):
        sheet.write_string(0, column, neutralise(str(header)))
    for index, item in enumerate(job.rejected_rows, start=1):
        _write_rejected(sheet, index, item, len(job.headers))
    workbook.close()
    out.seek(0)
    return out
