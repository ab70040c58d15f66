"""Price-list import (一房一价) from xlsx or csv: check → preview → apply once (or cancel).

Columns (header row, Chinese or English, any order): 楼栋 (building name or code), 房号
(unit number, "1201" or "3-1201"), 户型 (unit type name), 建筑面积, 套内面积, 表价 or 总价
(list price, yuan), 单价 (yuan per m² of built area), 底价 (floor price). 楼栋, 房号 and one
price column are required. The file updates existing units only: create the building first
(from a pattern), then import its prices.

`price_import_check` reads and validates the whole file without writing a unit: it keeps the
good rows (what would change) and the rejected ones (cells and reasons) in a `PriceImport`
row. `price_import_apply` writes the good rows once, in one transaction (a second call, or
one after `price_import_cancel`, is refused). Rows that would change nothing count as
unchanged, so importing the same file again changes nothing. Reasons are stored as message
ids with parameters and shown in the reader's language (`reason_text`)."""

import codecs
import csv
import hashlib
import io
import tempfile
import zipfile
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import xlsxwriter
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from anju.core.exports import neutralise

from .inventory import FEN, project_for, require_inventory_right, unit_prices_apply
from .models import Building, PriceImport, Unit, UnitType
from .services import building_revision_bump

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
PRICE_TOLERANCE = Decimal("1.00")  # yuan: 单价 × 面积 may differ from 总价 by rounding

COLUMNS = {
    "building": ("楼栋", "楼栋号", "楼号", "building"),
    "number": ("房号", "房间号", "unit number", "unit", "number"),
    "unit_type": ("户型", "unit type"),
    "built_area": ("建筑面积", "built area"),
    "usable_area": ("套内面积", "usable area"),
    "list_price": ("表价", "总价", "list price", "total price"),
    "unit_price": ("单价", "unit price"),
    "floor_price": ("底价", "floor price"),
}
STORED = ("unit_type", "built_area", "usable_area", "list_price", "floor_price")


def reason(message: str, **params: Any) -> dict:
    return {"m": message, "p": params}


def reason_text(item: dict) -> str:
    """A stored reason in the active language."""
    params = dict(item.get("p") or {})
    if params.get("status") in Unit.Status.values:
        params["status"] = str(Unit.Status(params["status"]).label)
    return _(item["m"]) % params if params else _(item["m"])


# --- reading ---------------------------------------------------------------------------------

def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data.decode("utf-8-sig")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(name: str, data: bytes) -> list[list[str]]:
    """Rows of an xlsx or csv file as lists of strings (first row: the header)."""
    lower = (name or "").lower()
    if lower.endswith(".xls") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationError({"file": [_("Old Excel files (.xls) cannot be read: save the "
                                          "file as .xlsx or CSV.")]})
    if lower.endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError):
            raise ValidationError({"file": [_("This file is not a valid .xlsx workbook.")]}
                                  ) from None
        try:
            sheet = workbook.worksheets[0]
            rows = []
            for row in sheet.iter_rows(values_only=True):
                rows.append([_cell_text(v) for v in row])
                if len(rows) > MAX_ROWS + 1:
                    break
        finally:
            workbook.close()
        return rows
    if lower.endswith((".csv", ".txt")):
        if b"\x00" in data[:4096]:
            raise ValidationError({"file": [_("This file is not a CSV text file.")]})
        text = _decode(data)
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text), dialect)]
    raise ValidationError({"file": [_("Upload an Excel workbook (.xlsx) or a CSV file "
                                      "(.csv).")]})


def _header_map(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, raw in enumerate(header):
        text = raw.strip().lower().replace("（", "(").split("(")[0].strip()
        for key, names in COLUMNS.items():
            if text in names and key not in found:
                found[key] = index
    missing = [COLUMNS[k][0] for k in ("building", "number") if k not in found]
    if "list_price" not in found and "unit_price" not in found:
        missing.append("表价 / 单价 / 总价")
    if missing:
        raise ValidationError({"file": [
            _("The header row lacks these columns: %(columns)s.") % {
                "columns": ", ".join(missing)}]})
    return found


# --- checking --------------------------------------------------------------------------------

def _decimal(text: str) -> Decimal | None:
    cleaned = text.replace(",", "").replace("，", "").replace("¥", "").replace("元", "")
    cleaned = cleaned.replace("m²", "").replace("㎡", "").strip()
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite():
        raise ValueError(text)
    return value


class _Context:
    def __init__(self, project) -> None:
        self.buildings: dict[str, Building] = {}
        for building in Building.objects.filter(project=project):
            self.buildings[building.name] = building
            self.buildings[building.code] = building
        self.types = {t.name: t for t in UnitType.objects.filter(project=project)}
        self.units: dict[tuple[int, str], Unit] = {
            (u.building_id, u.number): u
            for u in Unit.objects.filter(building__project=project)}
        self.seen: dict[int, int] = {}


def _check_row(ctx: _Context, columns: dict[str, int], cells: list[str], row_number: int
               ) -> tuple[Unit | None, dict, list[dict]]:
    def cell(key: str) -> str:
        index = columns.get(key)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    reasons: list[dict] = []
    numbers: dict[str, Decimal | None] = {}
    labels = {"built_area": "建筑面积", "usable_area": "套内面积", "list_price": "表价",
              "unit_price": "单价", "floor_price": "底价"}
    for key, label in labels.items():
        try:
            value = _decimal(cell(key))
        except ValueError:
            reasons.append(reason(gettext_noop("%(column)s “%(value)s” is not a number."),
                                  column=label, value=cell(key)))
            continue
        if value is not None and value <= 0:
            reasons.append(reason(gettext_noop("%(column)s must be more than 0."),
                                  column=label))
            continue
        numbers[key] = value

    building = ctx.buildings.get(cell("building"))
    if not cell("building"):
        reasons.append(reason(gettext_noop("楼栋 (building) is empty.")))
    elif building is None:
        reasons.append(reason(gettext_noop("There is no building “%(value)s” in this "
                                           "project."), value=cell("building")))
    number = cell("number")
    if building is not None and number.startswith(f"{building.code}-"):
        number = number[len(building.code) + 1:]
    unit = None
    if not number:
        reasons.append(reason(gettext_noop("房号 (unit number) is empty.")))
    elif building is not None:
        unit = ctx.units.get((building.pk, number))
        if unit is None:
            reasons.append(reason(gettext_noop("Building %(building)s has no unit "
                                               "%(number)s."),
                                  building=building.name, number=number))
    unit_type = None
    if cell("unit_type"):
        unit_type = ctx.types.get(cell("unit_type"))
        if unit_type is None:
            reasons.append(reason(gettext_noop("There is no unit type “%(value)s” in this "
                                               "project."), value=cell("unit_type")))
    if unit is not None and unit.pk in ctx.seen:
        reasons.append(reason(gettext_noop("Unit %(unit)s is already in row %(row)s of this "
                                           "file."), unit=unit.label, row=ctx.seen[unit.pk]))
    if reasons or unit is None:
        return None, {}, reasons

    changes: dict[str, Any] = {}
    if unit_type is not None:
        changes["unit_type"] = unit_type.pk
    area = numbers.get("built_area") or unit.built_area
    if numbers.get("built_area") is not None:
        changes["built_area"] = numbers["built_area"].quantize(FEN, rounding=ROUND_HALF_UP)
    if numbers.get("usable_area") is not None:
        changes["usable_area"] = numbers["usable_area"].quantize(FEN, rounding=ROUND_HALF_UP)
        if changes["usable_area"] > area:
            reasons.append(reason(gettext_noop("套内面积 (usable area) is larger than "
                                               "建筑面积 (built area).")))
    total, per_m2 = numbers.get("list_price"), numbers.get("unit_price")
    if total is None and per_m2 is not None:
        total = per_m2 * area
    elif total is not None and per_m2 is not None and abs(per_m2 * area - total) > \
            PRICE_TOLERANCE:
        reasons.append(reason(gettext_noop("单价 × 建筑面积 (%(computed)s) does not match "
                                           "表价 (%(total)s)."),
                              computed=str((per_m2 * area).quantize(FEN)), total=str(total)))
    if total is not None:
        changes["list_price"] = total.quantize(FEN, rounding=ROUND_HALF_UP)
    if numbers.get("floor_price") is not None:
        changes["floor_price"] = numbers["floor_price"].quantize(FEN, rounding=ROUND_HALF_UP)
        if changes["floor_price"] > changes.get("list_price", unit.list_price):
            reasons.append(reason(gettext_noop("底价 (floor price) is above the list price.")))
    changed = any(_current(unit, k) != v for k, v in changes.items())
    if changed and unit.status not in (Unit.Status.AVAILABLE, Unit.Status.LOCKED):
        reasons.append(reason(gettext_noop("Unit %(unit)s is %(status)s; its price cannot "
                                           "change."),
                              unit=unit.label, status=unit.status))
    if reasons:
        return None, {}, reasons
    ctx.seen[unit.pk] = row_number
    return unit, changes, []


def _current(unit: Unit, key: str) -> Any:
    return unit.unit_type_id if key == "unit_type" else getattr(unit, key)


def price_import_check(*, actor: Any, project_id: Any, name: str, data: bytes
                       ) -> PriceImport:
    """Read and check a price list; nothing is written but the `PriceImport` preview."""
    require_inventory_right(actor)
    project = project_for(actor, project_id)
    if not data:
        raise ValidationError({"file": [_("The file is empty.")]})
    if len(data) > MAX_BYTES:
        raise ValidationError({"file": [_("The file is larger than %(limit)s MB.") % {
            "limit": MAX_BYTES // 1024 // 1024}]})
    table = [row for row in read_table(name, data)]
    while table and not any(table[0]):
        table.pop(0)
    if not table:
        raise ValidationError({"file": [_("The file has no header row.")]})
    header, body = table[0], table[1:]
    if len(body) > MAX_ROWS:
        raise ValidationError({"file": [_("At most %(limit)s rows can be imported at once.")
                                        % {"limit": MAX_ROWS}]})
    columns = _header_map(header)
    ctx = _Context(project)
    good, rejected = [], []
    changed = unchanged = 0
    for offset, cells in enumerate(body, start=2):
        if not any(c.strip() for c in cells):
            continue
        unit, changes, reasons = _check_row(ctx, columns, cells, offset)
        if reasons:
            rejected.append({"row": offset, "values": cells, "reasons": reasons})
            continue
        is_change = any(_current(unit, k) != v for k, v in changes.items())
        changed += is_change
        unchanged += not is_change
        good.append({"row": offset, "unit": unit.pk, "label": unit.label,
                     "changes": {k: str(v) for k, v in changes.items()},
                     "changed": is_change})
    return PriceImport.objects.create(
        project=project, created_by=actor, original_name=(name or "")[:200],
        file_hash=hashlib.sha256(data).hexdigest(), headers=header, rows=good,
        rejected=rejected, total_rows=len(good) + len(rejected), changed_count=changed,
        unchanged_count=unchanged)


def price_import_for(*, actor: Any, import_id: Any) -> PriceImport:
    try:
        return PriceImport.objects.visible_to(actor).select_related("project").get(
            pk=int(import_id))
    except (PriceImport.DoesNotExist, TypeError, ValueError):
        raise PriceImport.DoesNotExist(_("There is no such import.")) from None


def _finish(*, actor: Any, import_id: Any, to_state: str) -> PriceImport:
    require_inventory_right(actor)
    job = price_import_for(actor=actor, import_id=import_id)
    moved = PriceImport.objects.filter(pk=job.pk, state=PriceImport.State.PREVIEW).update(
        state=to_state, finished_at=timezone.now())
    if not moved:
        job.refresh_from_db()
        raise ValidationError(_("This import is already %(state)s.") % {
            "state": job.get_state_display()})
    job.state = to_state
    return job


def price_import_cancel(*, actor: Any, import_id: Any) -> PriceImport:
    """Drop a preview: no unit is touched."""
    with transaction.atomic():
        job = _finish(actor=actor, import_id=import_id, to_state=PriceImport.State.CANCELLED)
    return job


def price_import_apply(*, actor: Any, import_id: Any) -> PriceImport:
    """Write the preview's good rows, once. A unit a deal took since the preview is skipped
    and added to the rejected rows with its reason."""
    with transaction.atomic():
        job = _finish(actor=actor, import_id=import_id, to_state=PriceImport.State.APPLIED)
        wanted = [row for row in job.rows if row["changed"]]
        by_building: dict[int, list[dict]] = defaultdict(list)
        units = {u.pk: u for u in Unit.objects.filter(pk__in=[r["unit"] for r in wanted])
                 .only("id", "building_id")}
        for row in wanted:
            if row["unit"] in units:
                by_building[units[row["unit"]].building_id].append(row)
        applied = 0
        late_rejects = []
        for building_id in sorted(by_building):
            rows = by_building[building_id]
            revision = building_revision_bump(building_id=building_id)
            locked = {u.pk: u for u in Unit.objects.select_for_update(of=("self",))
                      .filter(pk__in=[r["unit"] for r in rows]).order_by("pk")}
            for row in rows:
                unit = locked[row["unit"]]
                changes = {k: (int(v) if k == "unit_type" else Decimal(v))
                           for k, v in row["changes"].items()}
                try:
                    with transaction.atomic():
                        applied += unit_prices_apply(unit=unit, changes=changes,
                                                     revision=revision)
                except ValidationError as error:
                    late_rejects.append({"row": row["row"], "values": [],
                                         "reasons": [{"m": m, "p": {}} for m in
                                                     error.messages]})
        job.applied_count = applied
        if late_rejects:
            job.rejected = [*job.rejected, *late_rejects]
        PriceImport.objects.filter(pk=job.pk).update(applied_count=applied,
                                                     rejected=job.rejected)
    return job


def error_sheet(job: PriceImport) -> io.BufferedRandom:
    """The rejected rows as xlsx: the file's columns, then the reason (active language) and
    the row number, every cell a string (never a formula)."""
    out = tempfile.TemporaryFile()  # noqa: SIM115  (handed to FileResponse, which closes it)
    workbook = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = workbook.add_worksheet()
    bold = workbook.add_format({"bold": True})
    headers = [str(h) for h in job.headers]
    for column, header in enumerate(headers):
        sheet.write_string(0, column, neutralise(header), bold)
    sheet.write_string(0, len(headers), _("Reason rejected"), bold)
    sheet.write_string(0, len(headers) + 1, _("Row in the uploaded file"), bold)
    for index, row in enumerate(sorted(job.rejected, key=lambda r: r["row"]), start=1):
        for column, value in enumerate(row["values"][:len(headers)]):
            if value not in (None, ""):
                sheet.write_string(index, column, neutralise(str(value)))
        sheet.write_string(index, len(headers),
                           neutralise("；".join(reason_text(r) for r in row["reasons"])))
        sheet.write_number(index, len(headers) + 1, row["row"])
    sheet.set_column(len(headers), len(headers), 60)
    workbook.close()
    out.seek(0)
    return out


def may_import(user: Any) -> bool:
    try:
        require_inventory_right(user)
    except PermissionDenied:
        return False
    return True
