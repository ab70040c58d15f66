"""Rejected rows back as a workbook: the file's own columns, then the reason and the row
number, so the user can fix the rows and import the sheet again (the importer ignores those
two columns). Every cell is written as a string, so a value that
starts with = + - @ can never run as a formula (the cells are also prefixed, for anyone who
saves the sheet as CSV)."""

import tempfile

import xlsxwriter
from django.utils import translation
from django.utils.translation import gettext as _

from anju.core.exports import neutralise

from ..models import ImportJob
from .pipeline import job_language

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def error_sheet(job: ImportJob):
    """A temporary file (xlsx) positioned at 0; rows are streamed from the database."""
    out = tempfile.TemporaryFile()  # noqa: SIM115  (handed to FileResponse, which closes it)
    workbook = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": False,
                                         "tmpdir": tempfile.gettempdir()})
    sheet = workbook.add_worksheet()
    bold = workbook.add_format({"bold": True})
    headers = [str(header if header is not None else "")
               for header in (job.mapping or {}).get("headers", [])]
    with translation.override(job_language(job)):
        reason_header = _("Reason rejected")
        row_header = _("Row in the uploaded file")
    for column, header in enumerate(headers):
        sheet.write_string(0, column, neutralise(header), bold)
    reason_column = len(headers)
    sheet.write_string(0, reason_column, reason_header, bold)
    sheet.write_string(0, reason_column + 1, row_header, bold)
    rows = job.rejected_rows.order_by("row_number").values_list("row_number", "values",
                                                               "reasons")
    for index, (row_number, values, reasons) in enumerate(rows.iterator(chunk_size=2000),
                                                           start=1):
        for column, value in enumerate(values[:reason_column]):
            if value not in (None, ""):
                sheet.write_string(index, column, neutralise(str(value)))
        sheet.write_string(index, reason_column, neutralise("；".join(reasons)))
        sheet.write_number(index, reason_column + 1, row_number)
    sheet.set_column(reason_column, reason_column, 60)
    workbook.close()
    out.seek(0)
    return out


def error_sheet_filename(job: ImportJob) -> str:
    stem = job.original_name.rsplit(".", 1)[0] or "import"
    return f"{stem}-rejected.xlsx"
