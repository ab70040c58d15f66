"""Demo data of the property app: unit types (with a drawn floor plan) and buildings for the
three demo projects, priced by floor, with a few units locked by sales control. The sales
demo makes the deals that hold, reserve and contract units (it runs later).

Written through the services (building from a pattern, unit_transition), with the demo
administrator as the actor, so the history and audit trail look like real use."""

import io
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from anju.accounts.models import Role, User
from anju.core.demo import DemoContext, demo_step

from .inventory import BuildingPattern, building_create_from_pattern
from .models import Building, Unit, UnitType
from .services import unit_transition

# per project index: unit types (name, rooms, halls, baths, built, usable, orientation),
# buildings (name, code, floors, units per floor, type per position, base yuan/m², step)
PLAN = {
    0: {"types": [("A户型", 3, 2, 2, "98.50", "79.80", "S"),
                  ("B户型", 4, 2, 2, "128.00", "104.60", "SN"),
                  ("C户型", 2, 2, 1, "78.00", "62.40", "SE")],
        "buildings": [("1号楼", "1", 18, 4, ["A户型", "B户型", "B户型", "A户型"], "26800", "120"),
                      ("2号楼", "2", 26, 2, ["C户型", "C户型"], "25500", "100")]},
    1: {"types": [("江景三房", 3, 2, 2, "115.00", "92.00", "S"),
                  ("江景四房", 4, 2, 3, "143.00", "116.00", "SN")],
        "buildings": [("A座", "A", 32, 4, ["江景三房", "江景四房", "江景四房", "江景三房"],
                       "41000", "250"),
                      ("B座", "B", 11, 2, ["江景四房", "江景四房"], "38000", "150")]},
    2: {"types": [("翡翠110", 3, 2, 2, "110.00", "88.00", "S"),
                  ("翡翠89", 3, 2, 1, "89.00", "71.00", "SE")],
        "buildings": [("5号楼", "5", 18, 6, ["翡翠110", "翡翠89", "翡翠89", "翡翠89",
                                            "翡翠89", "翡翠110"], "15800", "60")]},
}
LOCK_REASONS = ["开发商保留房", "样板间", "工程整改中", "领导预留"]


def floor_plan_png(name: str, rooms: int) -> bytes:
    """A simple drawn floor plan: the outline and one box per room."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (360, 240), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([10, 10, 350, 230], outline=(31, 95, 139), width=4)
    width = 340 // max(rooms, 1)
    for index in range(rooms):
        draw.rectangle([10 + index * width, 10, 10 + (index + 1) * width, 110],
                       outline=(100, 115, 135), width=2)
    draw.rectangle([10, 110, 230, 230], outline=(100, 115, 135), width=2)
    draw.text((20, 200), name.encode("ascii", "ignore").decode() or "plan", fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@demo_step(order=15, name="property: unit types, buildings and prices")
def build(ctx: DemoContext) -> None:
    projects = ctx.data.get("projects") or []
    actor = User.objects.filter(role__code=Role.Code.ADMIN, is_active=True).order_by("id").first()
    if not projects or actor is None:
        ctx.log(_("No demo projects: property demo skipped."))
        return
    buildings: list[Building] = []
    if Building.objects.filter(project__in=projects).exists():
        ctx.log(_("The demo buildings exist already; skipped."))
        ctx.data["property"] = {"buildings": list(Building.objects.filter(
            project__in=projects).order_by("id"))}
        return
    for index, project in enumerate(projects):
        plan = PLAN.get(index % len(PLAN))
        types = {}
        for name, rooms, halls, baths, built, usable, orientation in plan["types"]:
            unit_type = UnitType(project=project, name=name, rooms=rooms, halls=halls,
                                 bathrooms=baths, built_area=Decimal(built),
                                 usable_area=Decimal(usable), orientation=orientation)
            unit_type.floor_plan.save(f"{project.code}-{index}-{rooms}.png",
                                      ContentFile(floor_plan_png(name, rooms)), save=False)
            unit_type.save()
            types[name] = unit_type.pk
        for name, code, floors, per_floor, type_names, base, step in plan["buildings"]:
            buildings.append(building_create_from_pattern(
                actor=actor, project_id=project.pk, pattern=BuildingPattern(
                    name=name, code=code, floor_count=floors, units_per_floor=per_floor,
                    type_map=[types[t] for t in type_names], base_unit_price=Decimal(base),
                    floor_increment=Decimal(step), floor_price_ratio=Decimal("0.96"))))
    locked = 0
    for building in buildings:
        units = list(Unit.objects.filter(building=building).order_by("id")
                     .values_list("id", flat=True))
        for unit_id in ctx.random.sample(units, k=min(3, len(units))):
            unit_transition(unit_id=unit_id, to_status=Unit.Status.LOCKED, actor=actor,
                            reason=ctx.random.choice(LOCK_REASONS))
            locked += 1
    ctx.data["property"] = {"buildings": buildings}
    ctx.log(_("%(buildings)d buildings, %(units)d units, %(locked)d locked by sales control")
            % {"buildings": len(buildings),
               "units": Unit.objects.filter(building__in=buildings).count(), "locked": locked})
