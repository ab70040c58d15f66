"""One export framework for every list: columns declared once, masking, logging, safe cells.

    from anju.core.exports import Column, export_table

    columns = [
        Column(_("Name"), "display_name"),
        Column(_("Mobile phone"), "phone", kind="phone"),
        Column(_("Budget (yuan)"), lambda c: c.budget, kind="money"),
    ]
    return export_table(user=request.user, target="customers.customer", columns=columns,
                        rows=customer_list(viewer=request.user), file_format="xlsx",
                        filename="客户", unmask=request.GET.get("unmask") == "1",
                        request=request)

- refuses (PermissionDenied) when the user may not `export`;
- phone and ID number columns are masked unless the user may `unmask` AND asked (`unmask=`);
- more rows than `ANJU_EXPORT_APPROVAL_THRESHOLD` need `approve_exports`, otherwise
  `ExportNeedsApproval` (a PermissionDenied) is raised before anything is sent; the caller
  then files an approval request (`anju.core.export_requests`) and, once a manager approved
  it, runs the export again with `approved=True`;
- a text cell starting with = + - @ tab or CR never becomes a formula (csv: prefixed with ';
  xlsx: written as a string cell);
- every export is logged as a SensitiveAccess row (action "export": rows, columns, format).

Rows are streamed from the iterable into a temporary file (xlsxwriter's constant_memory
mode), so a large queryset is never held in memory; pass `.iterator()` for very large ones."""

import csv
import datetime
import decimal
import io
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import xlsxwriter
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from anju.core import masking
from anju.core.scoping import Principal

KINDS = ("text", "phone", "id_number", "money", "number", "date", "datetime", "bool")
FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportNeedsApproval(PermissionDenied):
    """More rows than ANJU_EXPORT_APPROVAL_THRESHOLD, and the user may not approve exports."""

    def __init__(self, *, rows: int, threshold: int):
        self.rows, self.threshold = rows, threshold
        super().__init__(ngettext(
            "Exports of more than %(threshold)d row need approval by a manager.",
            "Exports of more than %(threshold)d rows need approval by a manager.",
            threshold,
        ) % {"threshold": threshold})


@dataclass(frozen=True)
class Column:
    """One column: a (translatable) header, an accessor (attribute path "a.b", dict key, or a
    callable of the row) and a kind (see KINDS)."""

    header: Any
    accessor: str | Callable[[Any], Any]
    kind: str = "text"
    width: int | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"column kind must be one of {KINDS}, not {self.kind!r}")

    def value(self, row: Any) -> Any:
        if callable(self.accessor):
            return self.accessor(row)
        value = row
        for part in self.accessor.split("."):
            if value is None:
                return None
            value = value.get(part) if isinstance(value, dict) else getattr(value, part)
            if callable(value) and not isinstance(value, type):
                value = value()
        return value


def neutralise(text: str) -> str:
    """A text that spreadsheet programs will not run as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _local(value: datetime.datetime) -> datetime.datetime:
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.replace(tzinfo=None)


def _cell(column: Column, raw: Any, unmask: bool) -> Any:
    """The value to write: str for text-like kinds, numbers/dates kept for the others."""
    if raw is None or raw == "":
        return None
    if column.kind in (masking.PHONE, masking.ID_NUMBER):
        text = str(raw)
        return (masking.display_value(text, column.kind) if unmask
                else masking.mask_value(text, column.kind))
    if column.kind == "money" or column.kind == "number":
        if isinstance(raw, int | float | decimal.Decimal) and not isinstance(raw, bool):
            return raw
        return str(raw)
    if column.kind == "datetime" and isinstance(raw, datetime.datetime):
        return _local(raw)
    if column.kind == "date" and isinstance(raw, datetime.datetime):
        return _local(raw).date()
    if column.kind == "date" and isinstance(raw, datetime.date):
        return raw
    if column.kind == "bool":
        return str(_("yes") if raw else _("no"))
    return str(raw)


class _CsvWriter:
    def __init__(self, file):
        # utf-8 with a BOM: Excel then opens Chinese text correctly.
        self.text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.text)

    def header(self, columns: list[Column]) -> None:
        self.writer.writerow([neutralise(str(column.header)) for column in columns])

    def row(self, index: int, cells: list[tuple[Column, Any]]) -> None:
        out = []
        for column, value in cells:
            if value is None:
                out.append("")
            elif isinstance(value, str):
                out.append(neutralise(value))
            elif isinstance(value, datetime.datetime):
                out.append(value.strftime("%Y-%m-%d %H:%M:%S"))
            elif isinstance(value, decimal.Decimal) and column.kind == "money":
                out.append(f"{value:.2f}")
            else:
                out.append(str(value))
        self.writer.writerow(out)

    def close(self) -> None:
        self.text.flush()
        self.text.detach()


class _XlsxWriter:
    def __init__(self, file, sheet_name: str):
        self.book = xlsxwriter.Workbook(file, {"constant_memory": True,
                                               "strings_to_formulas": False,
                                               "strings_to_numbers": False,
                                               "strings_to_urls": False})
        safe_name = re.sub(r"[\[\]:*?/\\']", " ", sheet_name).strip()[:31]
        self.sheet = self.book.add_worksheet(safe_name or "export")
        self.bold = self.book.add_format({"bold": True})
        self.formats = {
            "money": self.book.add_format({"num_format": "#,##0.00"}),
            "date": self.book.add_format({"num_format": "yyyy-mm-dd"}),
            "datetime": self.book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        }

    def header(self, columns: list[Column]) -> None:
        for col, column in enumerate(columns):
            self.sheet.write_string(0, col, str(column.header), self.bold)
            width = column.width or {"id_number": 22, "phone": 16, "datetime": 18}.get(
                column.kind, 14)
            self.sheet.set_column(col, col, width)
        self.sheet.freeze_panes(1, 0)

    def row(self, index: int, cells: list[tuple[Column, Any]]) -> None:
        for col, (column, value) in enumerate(cells):
            if value is None:
                continue
            if isinstance(value, str):
                self.sheet.write_string(index, col, value)
            elif isinstance(value, datetime.datetime):
                self.sheet.write_datetime(index, col, value, self.formats["datetime"])
            elif isinstance(value, datetime.date):
                self.sheet.write_datetime(index, col, value, self.formats["date"])
            else:
                self.sheet.write_number(index, col, float(value), self.formats.get(column.kind))

    def close(self) -> None:
        self.book.close()


def export_table(*, user: Principal, target: str, columns: list[Column], rows: Iterable[Any],
                 file_format: str, filename: str, unmask: bool = False,
                 request: HttpRequest | None = None, approved: bool = False) -> FileResponse:
    """A download of `rows` as xlsx or csv; see the module's docstring for the rules."""
    if file_format not in FORMATS:
        raise ValueError(f"file_format must be one of {tuple(FORMATS)}")
    if not user.may("export"):
        raise PermissionDenied(_("You may not export lists."))
    unmasked = bool(unmask and masking.may_reveal(user))
    threshold = getattr(settings, "ANJU_EXPORT_APPROVAL_THRESHOLD", 0) or 0
    needs_approval = threshold > 0 and not approved and not user.may("approve_exports")

    file = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (returned)
    writer = (_XlsxWriter(file, str(filename)) if file_format == "xlsx" else _CsvWriter(file))
    count = 0
    try:
        writer.header(columns)
        for count, row in enumerate(rows, start=1):
            if needs_approval and count > threshold:
                raise ExportNeedsApproval(rows=count, threshold=threshold)
            writer.row(count, [(column, _cell(column, column.value(row), unmasked))
                               for column in columns])
        writer.close()
    except BaseException:
        file.close()
        raise
    finally:
        # A database iterator left half-read keeps a server-side cursor on PostgreSQL that
        # garbage collection would close later, inside some other transaction.
        close = getattr(rows, "close", None)
        if callable(close):
            close()

    masking.sensitive_access_record(
        user=user, action="export", target=target,
        detail={
            "rows": count,
            "columns": [str(column.header) for column in columns],
            "kinds": [column.kind for column in columns],
            "format": file_format,
            "unmasked": unmasked,
            "approved": approved,
        },
        remote_addr=masking.client_address(request),
    )
    file.seek(0)
    name = filename if filename.endswith(f".{file_format}") else f"{filename}.{file_format}"
    response = FileResponse(file, as_attachment=True, filename=name,
                            content_type=FORMATS[file_format])
    return response
