"""Importing the problem library from xlsx: one row per component–category(–description),
columns by header (Chinese or English):

| 构件 component | 问题分类 category | 问题描述 description | 位置 location | 保修年限 years |
| 防水/卫生间防水 | 渗漏 | 地漏周围渗水 | 卫生间,阳台 | 5 |

`component` is the path in the tree, levels separated by "/" (missing levels are created);
`location` names library locations (created as rooms when new), comma-separated;
`warranty_years` sets the period of the path's first level. Good rows are kept (each in its
own savepoint), bad rows come back with their row number and the reason."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from anju.aftersales.models import (
    Component,
    Location,
    ProblemCategory,
    ProblemDescription,
    WarrantyPeriod,
)

HEADERS = {
    "component": ("构件", "component"), "category": ("问题分类", "category"),
    "description": ("问题描述", "description"), "location": ("位置", "location"),
    "warranty_years": ("保修年限", "warranty_years", "warranty"),
}
MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024


@dataclass
class ImportResult:
    rows: int = 0
    imported: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _cell(value) -> str:
    return "" if value is None else str(value).strip()


def library_import(*, actor, company_id: int, upload) -> ImportResult:
    from openpyxl import load_workbook

    if getattr(upload, "size", 0) > MAX_BYTES:
        raise ValidationError({"file": _("The file is larger than 5 MB.")})
    try:
        book = load_workbook(upload, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [_cell(h).lower() for h in next(rows)]
    except Exception as exc:  # openpyxl raises many kinds on a file that is not xlsx
        raise ValidationError({"file": _("This is not an xlsx file.")}) from exc
    columns = {}
    for key, names in HEADERS.items():
        for index, name in enumerate(header):
            if name in names:
                columns[key] = index
    if "component" not in columns or "category" not in columns:
        raise ValidationError({"file": _(
            "The first row must name the columns 构件 (component) and 问题分类 (category).")})
    result = ImportResult()
    for number, raw in enumerate(rows, start=2):
        if result.rows >= MAX_ROWS:
            result.errors.append((number, _("Too many rows: at most %(n)s.") % {"n": MAX_ROWS}))
            break
        values = {key: _cell(raw[i]) if i < len(raw) else "" for key, i in columns.items()}
        if not any(values.values()):
            continue
        result.rows += 1
        try:
            with transaction.atomic():
                _import_row(company_id=company_id, values=values, actor=actor)
        except ValidationError as error:
            result.errors.append((number, " ".join(error.messages)))
        else:
            result.imported += 1
    return result


def _import_row(*, company_id: int, values: dict, actor) -> None:
    path = [p.strip() for p in values.get("component", "").split("/") if p.strip()]
    if not path:
        raise ValidationError(_("构件 (component) is empty."))
    if any(len(p) > 50 for p in path):
        raise ValidationError(_("构件 (component): a level is longer than 50 characters."))
    category_name = values.get("category", "")
    if not category_name or len(category_name) > 50:
        raise ValidationError(_("问题分类 (category) is empty or longer than 50 characters."))
    years_raw = values.get("warranty_years", "")
    years = None
    if years_raw:
        try:
            years = int(float(years_raw))
        except ValueError:
            years = -1
        if not 0 <= years <= 70:
            raise ValidationError(_("保修年限 (warranty years) must be a number from 0 to 70."))
    description = values.get("description", "")
    if len(description) > 200:
        raise ValidationError(_("问题描述 (description) is longer than 200 characters."))
    parent = None
    nodes = []
    for name in path:
        node, _created = Component.objects.get_or_create(company_id=company_id, parent=parent,
                                                         name=name)
        nodes.append(node)
        parent = node
    leaf = nodes[-1]
    if leaf.children.exists():
        raise ValidationError(_("构件 (component) %(name)s has sub-components: name a leaf.")
                              % {"name": "/".join(path)})
    category, _created = ProblemCategory.objects.get_or_create(company_id=company_id,
                                                               name=category_name)
    leaf.categories.add(category)
    if description:
        ProblemDescription.objects.get_or_create(category=category, component=None,
                                                 text=description,
                                                 defaults={"added_by": actor})
    for name in [p.strip() for p in values.get("location", "").replace("，", ",").split(",")]:
        if name:
            if len(name) > 50:
                raise ValidationError(_("位置 (location) is longer than 50 characters."))
            location, _created = Location.objects.get_or_create(company_id=company_id,
                                                                name=name)
            leaf.locations.add(location)
    if years is not None:
        WarrantyPeriod.objects.update_or_create(component=nodes[0], defaults={"years": years})
