"""Inventory writes: unit types (with their floor plan), a building from a pattern, and a
unit's prices. Each is one transactional function; callers are the pages and the API."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from anju.accounts.models import Project

from .models import MAX_FLOORS, MAX_UNITS_PER_FLOOR, Building, Unit, UnitType
from .services import building_revision_bump

FEN = Decimal("0.01")
FLOOR_PLAN_MAX_BYTES = 5 * 1024 * 1024
FLOOR_PLAN_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


def require_inventory_right(actor: Any) -> None:
    """Editing inventory needs the `control_sales` right (sales managers, admins)."""
    if not (getattr(actor, "is_authenticated", False) and actor.may("control_sales")):
        raise PermissionDenied(_("Only users with the sales-control right may edit the "
                                 "inventory."))


def project_for(actor: Any, project_id: Any) -> Project:
    try:
        return Project.objects.visible_to(actor).get(pk=int(project_id))
    except (Project.DoesNotExist, TypeError, ValueError):
        raise ValidationError({"project": [_("Choose one of your projects.")]}) from None


def floor_plan_check(upload: UploadedFile | None) -> None:
    """A real JPEG, PNG or WebP image of at most 5 MB; ValidationError on `floor_plan`."""
    if upload is None:
        return
    if upload.size > FLOOR_PLAN_MAX_BYTES:
        raise ValidationError({"floor_plan": [
            _("The floor plan is %(size)s MB; at most %(limit)s MB are allowed.") % {
                "size": f"{upload.size / 1024 / 1024:.1f}",
                "limit": FLOOR_PLAN_MAX_BYTES // 1024 // 1024}]})
    from PIL import Image, UnidentifiedImageError

    try:
        upload.seek(0)
        with Image.open(upload) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError({"floor_plan": [
            _("The floor plan must be an image (JPEG, PNG or WebP).")]}) from None
    finally:
        upload.seek(0)
    if kind not in FLOOR_PLAN_FORMATS:
        raise ValidationError({"floor_plan": [
            _("The floor plan must be an image (JPEG, PNG or WebP).")]})


def floor_plan_content_type(name: str) -> str:
    lower = (name or "").lower()
    if lower.endswith(".png"):
        return "image/png"
    if lower.endswith(".webp"):
        return "image/webp"
    return "image/jpeg"


UNIT_TYPE_FIELDS = ("name", "rooms", "halls", "bathrooms", "built_area", "usable_area",
                    "orientation")


def unit_type_save(*, actor: Any, project_id: Any, values: dict, floor_plan=None,
                   unit_type: UnitType | None = None) -> UnitType:
    """Create (unit_type None) or change a unit type; a new floor plan replaces the old."""
    require_inventory_right(actor)
    project = project_for(actor, project_id) if unit_type is None else unit_type.project
    floor_plan_check(floor_plan)
    target = unit_type or UnitType(project=project)
    for name in UNIT_TYPE_FIELDS:
        if name in values:
            setattr(target, name, values[name])
    target.name = (target.name or "").strip()
    if floor_plan is not None:
        target.floor_plan = floor_plan
    target.full_clean(exclude=["floor_plan"])
    with transaction.atomic():
        target.save()
    return target


@dataclass(frozen=True)
class BuildingPattern:
    """How a building is laid out and priced.

    `type_map[i]` is the unit type id of position i+1 on every floor (None: no type);
    the unit price of floor f is `base_unit_price + floor_increment × (f − 1)` yuan/m²,
    list price = unit price × built area (to the fen); floor price = list price × ratio."""

    name: str
    code: str
    floor_count: int
    units_per_floor: int
    type_map: list[int | None]
    base_unit_price: Decimal
    floor_increment: Decimal = Decimal("0")
    floor_price_ratio: Decimal | None = None
    default_area: Decimal | None = None


def unit_number(floor: int, position: int) -> str:
    """Floor and position as offices number units: floor 12, position 1 → "1201"."""
    return f"{floor}{position:02d}"


def _pattern_errors(pattern: BuildingPattern, types: dict[int, UnitType]) -> dict:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if not pattern.name.strip():
        add("name", _("Give the building a name."))
    code = pattern.code.strip()
    if not code or len(code) > 16 or "-" in code:
        add("code", _("Give a short code of at most 16 characters, without “-”."))
    if not 1 <= pattern.floor_count <= MAX_FLOORS:
        add("floor_count", _("Floors must be between 1 and %(max)s.") % {"max": MAX_FLOORS})
    if not 1 <= pattern.units_per_floor <= MAX_UNITS_PER_FLOOR:
        add("units_per_floor", _("Units per floor must be between 1 and %(max)s.") % {
            "max": MAX_UNITS_PER_FLOOR})
    elif len(pattern.type_map) != pattern.units_per_floor:
        add("type_map", _("Give a unit type for each of the %(count)s positions.") % {
            "count": pattern.units_per_floor})
    for type_id in pattern.type_map:
        if type_id is not None and type_id not in types:
            add("type_map", _("Unit type %(id)s is not a unit type of this project.") % {
                "id": type_id})
            break
    if pattern.base_unit_price is None or pattern.base_unit_price <= 0:
        add("base_unit_price", _("The base price must be more than 0."))
    if pattern.floor_increment is None:
        add("floor_increment", _("Give the price step per floor (0 for none)."))
    ratio = pattern.floor_price_ratio
    if ratio is not None and not Decimal("0") < ratio <= Decimal("1"):
        add("floor_price_ratio", _("The floor-price ratio must be above 0 and at most 1."))
    missing_area = any(type_id is None for type_id in pattern.type_map)
    if missing_area and not pattern.default_area:
        add("default_area", _("Positions without a unit type need a built area."))
    return errors


def building_create_from_pattern(*, actor: Any, project_id: Any,
                                 pattern: BuildingPattern) -> Building:
    """A building with all its units: floors × positions, numbered 101, 102 … 1201, typed
    and priced by the pattern. Nothing is written if anything is wrong."""
    require_inventory_right(actor)
    project = project_for(actor, project_id)
    types = {t.pk: t for t in UnitType.objects.filter(project=project)}
    errors = _pattern_errors(pattern, types)
    if errors:
        raise ValidationError(errors)
    code = pattern.code.strip()
    with transaction.atomic():
        try:
            with transaction.atomic():
                building = Building.objects.create(
                    project=project, name=pattern.name.strip(), code=code,
                    floor_count=pattern.floor_count, units_per_floor=pattern.units_per_floor)
        except IntegrityError:
            raise ValidationError({"code": [
                _("This project already has a building with this name or code.")]}) from None
        units = []
        for floor in range(1, pattern.floor_count + 1):
            unit_price = pattern.base_unit_price + pattern.floor_increment * (floor - 1)
            for position in range(1, pattern.units_per_floor + 1):
                unit_type = types.get(pattern.type_map[position - 1])
                area = unit_type.built_area if unit_type else pattern.default_area
                list_price = (unit_price * area).quantize(FEN, rounding=ROUND_HALF_UP)
                floor_price = None
                if pattern.floor_price_ratio is not None:
                    floor_price = (list_price * pattern.floor_price_ratio).quantize(
                        FEN, rounding=ROUND_HALF_UP)
                number = unit_number(floor, position)
                units.append(Unit(
                    building=building, floor=floor, position=position, number=number,
                    label=f"{code}-{number}", unit_type=unit_type, built_area=area,
                    usable_area=unit_type.usable_area if unit_type else None,
                    list_price=list_price, floor_price=floor_price))
        if any(u.list_price <= 0 for u in units):
            raise ValidationError({"floor_increment": [
                _("The price of the lowest floors would be 0 or less.")]})
        Unit.objects.bulk_create(units, batch_size=500)
    return building


PRICE_FIELDS = ("unit_type", "built_area", "usable_area", "list_price", "floor_price")


def unit_prices_set(*, actor: Any, unit_id: int, changes: dict) -> Unit:
    """Change a unit's type, areas or prices (audited; the board sees it at once). A unit
    that is held, reserved, contracted or delivered keeps its price: the deal holds it."""
    require_inventory_right(actor)
    building_id = (Unit.objects.visible_to(actor).filter(pk=unit_id)
                   .values_list("building_id", flat=True).first())
    if building_id is None:
        raise ValidationError(_("There is no such unit."))
    with transaction.atomic():
        # Building first, then the unit: the lock order of unit_transition.
        revision = building_revision_bump(building_id=building_id)
        unit = Unit.objects.select_for_update(of=("self",)).get(pk=unit_id)
        unit_prices_apply(unit=unit, changes=changes, revision=revision)
    return unit


def unit_prices_apply(*, unit: Unit, changes: dict, revision: int) -> bool:
    """Apply `changes` to `unit`, locked by the caller after bumping its building to
    `revision`, inside the caller's transaction; False when they change nothing. Refuses
    (ValidationError) a unit that a deal holds."""
    from anju.core import audit

    wanted = {k: v for k, v in changes.items() if k in PRICE_FIELDS}
    current = {k: getattr(unit, "unit_type_id" if k == "unit_type" else k) for k in wanted}
    normalised = {k: (v.pk if isinstance(v, UnitType) else v) for k, v in wanted.items()}
    if all(current[k] == normalised[k] for k in wanted):
        return False
    if unit.status not in (Unit.Status.AVAILABLE, Unit.Status.LOCKED):
        raise ValidationError(
            _("Unit %(unit)s is %(status)s; its price cannot change.") % {
                "unit": unit.label, "status": unit.get_status_display()})
    before = Unit(**{f.attname: getattr(unit, f.attname) for f in Unit._meta.concrete_fields})
    for name, value in normalised.items():
        setattr(unit, "unit_type_id" if name == "unit_type" else name, value)
    unit.full_clean(exclude=["building", "number", "label", "unit_type"],
                    validate_unique=False, validate_constraints=False)
    if unit.floor_price is not None and unit.floor_price > unit.list_price:
        raise ValidationError({"floor_price": [
            _("The floor price cannot be above the list price.")]})
    unit.revision = revision
    unit.version += 1
    Unit.objects.filter(pk=unit.pk).update(
        revision=unit.revision, version=unit.version,
        **{("unit_type_id" if k == "unit_type" else k): normalised[k] for k in wanted})
    audit.record_update(before=before, after=unit)
    return True
