"""Rows out of an uploaded file, streamed: the csv module for csv, openpyxl's read-only mode
for xlsx (it parses the sheet's XML as it goes, so memory stays flat at a million rows).

Every row comes back as a list of cell values (str for csv; str, number, date or None for
xlsx); the first row is the header."""

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from typing import IO

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

FORMATS = ("csv", "xlsx")
SAMPLE_BYTES = 256 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # .xls (Excel 97-2003) and other OLE files

csv.field_size_limit(1024 * 1024)


def detect_format(name: str, head: bytes) -> str:
    """"csv" or "xlsx" from the file name and its first bytes; ValidationError otherwise."""
    lower = (name or "").lower()
    if head.startswith(_OLE_MAGIC) or lower.endswith(".xls"):
        raise ValidationError(
            _("Old Excel files (.xls) cannot be read: open the file in Excel or WPS and save "
              "it as .xlsx, or as CSV."), code="xls")
    if lower.endswith(".xlsx") or lower.endswith(".xlsm"):
        if not head.startswith(_ZIP_MAGIC):
            raise ValidationError(_("This file is not a valid .xlsx workbook."), code="invalid")
        return "xlsx"
    if lower.endswith(".csv") or lower.endswith(".txt"):
        if b"\x00" in head[:4096] or head.startswith(_ZIP_MAGIC):
            raise ValidationError(_("This file is not a CSV text file."), code="invalid")
        return "csv"
    raise ValidationError(
        _("Upload an Excel workbook (.xlsx) or a CSV file (.csv)."), code="format")


def _csv_encoding(sample: bytes) -> str:
    """utf-8 (with or without BOM) when the sample decodes as such, else GB18030 (what Excel
    on a Chinese Windows writes)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


class _Dialect(csv.excel):
    pass


def _csv_dialect(first_line: str) -> type[csv.Dialect]:
    """Excel's dialect with the delimiter the header row uses most (comma, tab, ; or |).
    Only the delimiter is guessed: csv.Sniffer also guesses quoting from a header row that
    has no quotes, and then misreads "" inside quoted cells."""
    delimiter = max(",\t;|", key=first_line.count)
    return type("ImportDialect", (_Dialect,), {"delimiter": delimiter if first_line.count(
        delimiter) else ","})


def iter_csv(file: IO[bytes]) -> Iterator[list]:
    file.seek(0)
    sample = file.read(SAMPLE_BYTES)
    encoding = _csv_encoding(sample)
    file.seek(0)
    text = io.TextIOWrapper(file, encoding=encoding, errors="replace", newline="")
    try:
        first_line = text.readline()
        dialect = _csv_dialect(first_line)
        yield from csv.reader(io.StringIO(first_line), dialect)
        yield from csv.reader(text, dialect)
    finally:
        text.detach()  # the caller's file stays open


def iter_xlsx(file: IO[bytes]) -> Iterator[list]:
    from openpyxl import load_workbook

    file.seek(0)
    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ValidationError(_("This file is not a valid .xlsx workbook."),
                              code="invalid") from exc
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()


def iter_rows(file: IO[bytes], file_format: str) -> Iterator[list]:
    """Every row (header first) of a csv or xlsx file opened in binary mode."""
    if file_format == "csv":
        return iter_csv(file)
    if file_format == "xlsx":
        return iter_xlsx(file)
    raise ValueError(f"unknown import format {file_format!r}")


def is_blank(row: list) -> bool:
    return all(value is None or (isinstance(value, str) and not value.strip()) for value in row)


def count_data_rows(file: IO[bytes], file_format: str) -> int | None:
    """How many rows follow the header (blank rows included), or None when only a full read
    would tell (an xlsx without its dimension)."""
    if file_format == "xlsx":
        from openpyxl import load_workbook

        file.seek(0)
        workbook = load_workbook(file, read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            max_row = sheet.max_row
            return None if not max_row else max(max_row - 1, 0)
        finally:
            workbook.close()
    count = -1
    for _row in iter_csv(file):
        count += 1
    return max(count, 0)
