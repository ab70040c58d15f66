"""Leads from an xlsx sheet (an exhibition's sign-up list, a platform's export): every row
goes through `lead_capture` like any other lead; a bad row is kept with its reasons and
comes back in an error sheet (the file's columns, then the reason and the row number).

Synchronous and capped (MAX_ROWS): lead lists are hundreds of rows, not the ledger's
millions (those go through the customers import pipeline)."""

import tempfile
from typing import Any

import openpyxl
import xlsxwriter
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from anju.accounts.models import Project, User
from anju.core.exports import neutralise

from .models import Channel, Lead, LeadImport, Timing
from .services import lead_capture

MAX_ROWS = 5000
MAX_BYTES = 10 * 1024 * 1024
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


def lead_import_run(*, actor: User, project: Project, channel: Channel | None, upload
                    ) -> LeadImport:
    if not Project.objects.visible_to(actor).filter(pk=project.pk).exists():
        raise ValidationError({"project": _("You can only choose projects you can see.")})
    if getattr(upload, "size", 0) > MAX_BYTES:
        raise ValidationError({"file": _("The file is larger than 10 MB.")})
    try:
        workbook = openpyxl.load_workbook(upload, read_only=True, data_only=True)
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        headers = [str(value or "").strip() for value in next(rows, ())]
    except Exception:
        raise ValidationError({"file": _("This is not a readable xlsx file.")}) from None
    columns = _column_map(headers)
    missing = [field for field in ("name", "phone") if field not in columns]
    if missing:
        raise ValidationError({"file": _("The first row must name the columns; missing: "
                                         "%(columns)s.") % {"columns": ", ".join(missing)}})
    job = LeadImport.objects.create(project=project, channel=channel, created_by=actor,
                                    original_name=str(getattr(upload, "name", ""))[:200],
                                    headers=headers)
    rejected = []
    for number, row in enumerate(rows, start=2):
        if not any(value not in (None, "") for value in row):
            continue
        if job.total >= MAX_ROWS:
            rejected.append({"row": number, "values": [str(v or "") for v in row],
                             "reasons": [_("Only the first %(max)d rows are read.") % {
                                 "max": MAX_ROWS}]})
            continue
        job.total += 1
        timing = str(_cell(row, columns.get("timing"))).strip()
        try:
            result = lead_capture(
                project=project, channel=channel, actor=actor, method=Lead.Method.IMPORT,
                name=_cell(row, columns["name"]), phone=str(_cell(row, columns["phone"])),
                budget_wan=_cell(row, columns.get("budget_wan")),
                timing=TIMING_WORDS.get(timing, timing),
                unit_type=_cell(row, columns.get("unit_type")),
                notes=_cell(row, columns.get("notes")))
        except ValidationError as error:
            reasons = [f"{_field_label(field)}: {message}"
                       for field, messages in error.message_dict.items()
                       for message in messages]
            rejected.append({"row": number, "values": ["" if v is None else str(v)
                                                       for v in row],
                             "reasons": reasons})
            continue
        if result.created and not result.known_customer:
            job.created += 1
        else:
            job.known += 1
    job.rejected = len(rejected)
    job.rejected_rows = rejected
    with transaction.atomic():
        job.save()
    return job


def _field_label(field: str) -> str:
    labels = {"name": _("name"), "phone": _("phone"), "budget_wan": _("budget (万元)"),
              "timing": _("when buying"), "unit_type": _("unit type wanted"),
              "notes": _("notes"), "channel": _("channel"), "project": _("project"),
              "referrer": _("referred by")}
    return str(labels.get(field, field))


def error_sheet(job: LeadImport):
    """The rejected rows as an xlsx file (a temporary file positioned at 0)."""
    out = tempfile.TemporaryFile()  # noqa: SIM115  (FileResponse closes it)
    workbook = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = workbook.add_worksheet()
    headers = [*job.headers, _("Reason rejected"), _("Row in the uploaded file")]
    for column, header in enumerate(headers):
        sheet.write_string(0, column, neutralise(str(header)))
    width = len(job.headers)
    for index, item in enumerate(job.rejected_rows, start=1):
        for column, value in enumerate(item["values"][:width]):
            if value:
                sheet.write_string(index, column, neutralise(str(value)))
        sheet.write_string(index, width, neutralise("；".join(item["reasons"])))
        sheet.write_number(index, width + 1, item["row"])
    workbook.close()
    out.seek(0)
    return out
