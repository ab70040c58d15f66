"""Which column holds which field: headers as sales offices export them, and the user's choice.

`ImportJob.mapping` is a dict::

    {"columns": {"0": "name", "1": "phone", "5": ""},   # column index -> field ("" = ignored)
     "headers": ["姓名", "手机号", ...],                  # the file's header row, as read
     "language": "zh-hans",                              # reasons are written in it
     "owner": 12}                                        # owning consultant (user id)
"""

import re
import unicodedata

from django.utils.translation import gettext_lazy as _

# field -> (label, aliases); aliases are compared after `header_key` (NFKC, lower, no spaces
# or brackets), so "预算（万元）", "预算(万元)" and "预算 万元" are one alias.
FIELDS: dict[str, tuple] = {
    "name": (_("Name"), ["姓名", "客户姓名", "客户名称", "客户", "名字", "name", "customername",
                         "fullname"]),
    "phone": (_("Mobile phone"), ["手机号", "手机号码", "手机", "电话", "电话号码", "联系电话",
                                  "联系方式", "移动电话", "mobile", "phone", "cellphone",
                                  "tel", "telephone"]),
    "phone2": (_("Other phone"), ["备用电话", "其他电话", "电话2", "手机2", "座机", "固定电话",
                                  "家庭电话", "otherphone", "phone2", "landline"]),
    "id_number": (_("ID card number"), ["身份证号", "身份证号码", "身份证", "证件号码",
                                        "证件号", "idnumber", "idcard", "id"]),
    "gender": (_("Gender"), ["性别", "gender", "sex"]),
    "birthday": (_("Birthday"), ["生日", "出生日期", "出生年月日", "birthday", "dateofbirth",
                                 "birthdate", "dob"]),
    "source_channel": (_("Source channel"), ["来源渠道", "来源", "渠道", "客户来源", "获客渠道",
                                             "source", "channel", "sourcechannel"]),
    "projects": (_("Projects of interest"), ["意向项目", "项目", "意向楼盘", "楼盘", "project",
                                             "projects"]),
    "budget": (_("Budget (万元)"), ["预算万元", "预算", "购房预算", "总价预算", "budget"]),
    "area": (_("Area (m²)"), ["面积", "意向面积", "需求面积", "面积㎡", "面积m2", "面积平米",
                              "面积平方米", "area"]),
    "occupation": (_("Occupation"), ["职业", "工作", "行业", "occupation", "job"]),
    "address": (_("Address"), ["地址", "住址", "居住地址", "联系地址", "家庭住址", "address"]),
    "notes": (_("Notes"), ["备注", "说明", "notes", "note", "remarks", "comment"]),
}
FIELD_CHOICES = [("", _("(ignore this column)"))] + [(key, label) for key, (label, _a) in
                                                     FIELDS.items()]
# Columns our own error sheet adds: known, ignored without asking.
IGNORED_HEADERS = {"错误原因", "原行号", "reasonrejected", "rowintheuploadedfile", "序号",
                   "编号", "no", "no."}
REQUIRED_ANY = ("phone", "id_number")  # without either, a person cannot be de-duplicated


def header_key(header: object) -> str:
    text = unicodedata.normalize("NFKC", str(header or "")).lower()
    return re.sub(r"[\s()\[\]（）【】:：_\-/*]", "", text)


_ALIASES = {header_key(alias): field for field, (_l, aliases) in FIELDS.items()
            for alias in aliases}


def field_label(field: str) -> str:
    return str(FIELDS[field][0]) if field in FIELDS else field


def auto_mapping(headers: list[str]) -> tuple[dict[str, str], list[int]]:
    """(column index -> field) for the headers we know, and the indexes of unknown ones.

    A field is taken by its first column only; a second phone column becomes the other phone."""
    columns: dict[str, str] = {}
    unknown: list[int] = []
    taken: set[str] = set()
    for index, header in enumerate(headers):
        key = header_key(header)
        field = _ALIASES.get(key)
        if field is None and key:
            # "预算(万元)" → 预算万元, "手机号码1" → 手机号码: try without trailing digits
            field = _ALIASES.get(key.rstrip("0123456789"))
        if field == "phone" and "phone" in taken:
            field = "phone2"
        if field is None or field in taken:
            columns[str(index)] = ""
            if str(header or "").strip() and key not in IGNORED_HEADERS:
                unknown.append(index)
            continue
        columns[str(index)] = field
        taken.add(field)
    return columns, unknown


def mapping_problems(columns: dict[str, str]) -> list[str]:
    """What makes a mapping unusable (translated messages); empty when it can run."""
    problems = []
    fields = [field for field in columns.values() if field]
    if "name" not in fields:
        problems.append(str(_("Choose which column holds the name.")))
    if not any(field in fields for field in REQUIRED_ANY):
        problems.append(str(_("Choose which column holds the phone number or the ID card "
                              "number: without either, people cannot be de-duplicated.")))
    seen: set[str] = set()
    for field in fields:
        if field not in FIELDS:
            problems.append(str(_("Unknown field: %(field)s") % {"field": field}))
        elif field in seen:
            problems.append(str(_("Two columns are mapped to “%(field)s”.")
                                % {"field": field_label(field)}))
        seen.add(field)
    return problems
