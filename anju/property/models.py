"""Inventory: buildings, unit types (户型) and units (房源) with their state and history.

The organisation above a building (company → project) lives in `anju.accounts`. A unit's
`status` changes only through `anju.property.services.unit_transition`, which checks the
move against `TRANSITIONS`, writes a `UnitStatusChange` row and bumps the building's
`revision` so the sales-control board can fetch just the cells that changed."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from anju.accounts.models import Project
from anju.core.models import TimeStampedModel, VersionedModel
from anju.core.scoping import ScopedQuerySet, ScopeSpec

MAX_FLOORS = 200
MAX_UNITS_PER_FLOOR = 40
MONEY = {"max_digits": 14, "decimal_places": 2}
AREA = {"max_digits": 9, "decimal_places": 2}


class Building(VersionedModel):
    """One building (楼栋) of a project; its units are drawn floor by floor on the board."""

    scope = ScopeSpec(project="project", company="project__company")

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="buildings",
                                verbose_name=_("project"))
    name = models.CharField(_("name"), max_length=50)
    code = models.CharField(_("code"), max_length=16,
                            help_text=_("Short code put in front of unit numbers, e.g. 3 "
                                        "for 3-1201."))
    floor_count = models.PositiveSmallIntegerField(
        _("floors"), validators=[MinValueValidator(1), MaxValueValidator(MAX_FLOORS)])
    units_per_floor = models.PositiveSmallIntegerField(
        _("units per floor"),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_UNITS_PER_FLOOR)])
    # Bumped by every change of one of its units; the board polls "what changed since N".
    revision = models.PositiveBigIntegerField(_("board revision"), default=0, editable=False)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["project", "code"],
                                    name="building_code_unique_in_project"),
            models.UniqueConstraint(fields=["project", "name"],
                                    name="building_name_unique_in_project"),
        ]
        verbose_name = _("building")
        verbose_name_plural = _("buildings")

    def __str__(self) -> str:
        return self.name


class UnitType(TimeStampedModel):
    """A floor plan (户型) of a project: rooms, halls, bathrooms, area, orientation."""

    scope = ScopeSpec(project="project", company="project__company")

    class Orientation(models.TextChoices):
        SOUTH = "S", _("south")
        NORTH = "N", _("north")
        EAST = "E", _("east")
        WEST = "W", _("west")
        SOUTH_NORTH = "SN", _("south–north (through)")
        EAST_WEST = "EW", _("east–west (through)")
        SOUTHEAST = "SE", _("south-east")
        SOUTHWEST = "SW", _("south-west")
        NORTHEAST = "NE", _("north-east")
        NORTHWEST = "NW", _("north-west")

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="unit_types",
                                verbose_name=_("project"))
    name = models.CharField(_("name"), max_length=50)
    rooms = models.PositiveSmallIntegerField(_("bedrooms"), default=3,
                                             validators=[MaxValueValidator(20)])
    halls = models.PositiveSmallIntegerField(_("living rooms"), default=2,
                                             validators=[MaxValueValidator(10)])
    bathrooms = models.PositiveSmallIntegerField(_("bathrooms"), default=1,
                                                 validators=[MaxValueValidator(10)])
    built_area = models.DecimalField(_("built area (m²)"), **AREA,
                                     validators=[MinValueValidator(Decimal("1"))])
    usable_area = models.DecimalField(_("usable area (m²)"), **AREA, null=True, blank=True,
                                      validators=[MinValueValidator(Decimal("1"))])
    orientation = models.CharField(_("orientation"), max_length=2, choices=Orientation.choices,
                                   blank=True)
    floor_plan = models.ImageField(_("floor plan"), upload_to="property/floor_plans/%Y/%m/",
                                   blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"],
                                    name="unit_type_name_unique_in_project"),
        ]
        verbose_name = _("unit type")
        verbose_name_plural = _("unit types")

    def __str__(self) -> str:
        return self.name

    @property
    def layout(self) -> str:
        """Rooms, halls and bathrooms the way offices say it: 3室2厅2卫."""
        return _("%(rooms)s bd %(halls)s lr %(baths)s ba") % {
            "rooms": self.rooms, "halls": self.halls, "baths": self.bathrooms}


class Unit(models.Model):
    """One sellable home (房源). Its `status` moves only through `unit_transition`."""

    scope = ScopeSpec(project="building__project", company="building__project__company")

    class Status(models.TextChoices):
        AVAILABLE = "available", pgettext_lazy("unit status", "available")
        HELD = "held", pgettext_lazy("unit status", "held")
        RESERVED = "reserved", pgettext_lazy("unit status", "reserved")
        CONTRACTED = "contracted", pgettext_lazy("unit status", "contracted")
        DELIVERED = "delivered", pgettext_lazy("unit status", "delivered")
        LOCKED = "locked", pgettext_lazy("unit status", "locked")

    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="units",
                                 verbose_name=_("building"))
    floor = models.SmallIntegerField(_("floor"))
    position = models.PositiveSmallIntegerField(
        _("position on the floor"), default=1,
        help_text=_("Column on the board, 1 = first unit of the floor."))
    number = models.CharField(_("unit number"), max_length=16)
    label = models.CharField(_("unit"), max_length=40,
                             help_text=_("Building code and unit number, e.g. 3-1201."))
    unit_type = models.ForeignKey(UnitType, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="units", verbose_name=_("unit type"))
    built_area = models.DecimalField(_("built area (m²)"), **AREA,
                                     validators=[MinValueValidator(Decimal("1"))])
    usable_area = models.DecimalField(_("usable area (m²)"), **AREA, null=True, blank=True,
                                      validators=[MinValueValidator(Decimal("1"))])
    list_price = models.DecimalField(_("list price (yuan)"), **MONEY,
                                     validators=[MinValueValidator(Decimal("0.01"))])
    floor_price = models.DecimalField(_("floor price (yuan)"), **MONEY, null=True, blank=True,
                                      validators=[MinValueValidator(Decimal("0.01"))],
                                      help_text=_("The lowest price sales may agree to (底价)."))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.AVAILABLE)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    # Building revision of this unit's last change: the board's "changed since" marker.
    revision = models.PositiveBigIntegerField(_("board revision"), default=0, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["building_id", "-floor", "position"]
        constraints = [
            models.UniqueConstraint(fields=["building", "label"],
                                    name="unit_label_unique_in_building"),
            models.UniqueConstraint(fields=["building", "number"],
                                    name="unit_number_unique_in_building"),
            models.CheckConstraint(
                condition=models.Q(status__in=["available", "held", "reserved", "contracted",
                                               "delivered", "locked"]),
                name="unit_status_known"),
            models.CheckConstraint(
                condition=models.Q(floor_price__isnull=True)
                | models.Q(floor_price__lte=models.F("list_price")),
                name="unit_floor_price_not_above_list_price"),
        ]
        indexes = [
            models.Index(fields=["building", "revision"], name="unit_building_revision_idx"),
            models.Index(fields=["status", "building"], name="unit_status_building_idx"),
        ]
        verbose_name = _("unit")
        verbose_name_plural = _("units")

    def __str__(self) -> str:
        return self.label

    @property
    def unit_price(self) -> Decimal | None:
        """List price per m² of built area, to the yuan."""
        if not self.built_area:
            return None
        return (self.list_price / self.built_area).quantize(Decimal("1"))


class UnitStatusChange(models.Model):
    """Append-only history of a unit's moves: who, when, from what to what, why."""

    scope = ScopeSpec(project="unit__building__project",
                      company="unit__building__project__company")

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="status_changes",
                             verbose_name=_("unit"))
    from_status = models.CharField(_("from"), max_length=16, choices=Unit.Status.choices)
    to_status = models.CharField(_("to"), max_length=16, choices=Unit.Status.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+", verbose_name=_("by"))
    reason = models.TextField(_("reason"), blank=True)
    reference = models.CharField(_("reference"), max_length=64, blank=True,
                                 help_text=_("What caused the move, e.g. deal:123."))
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["unit", "-id"], name="unit_status_change_unit_idx")]
        verbose_name = _("unit status change")
        verbose_name_plural = _("unit status changes")

    def __str__(self) -> str:
        return f"{self.unit_id}: {self.from_status} → {self.to_status}"


class PriceImport(models.Model):
    """One uploaded price list (一房一价): checked into a preview, then applied once or
    cancelled. `rows` holds the good rows' values, `rejected` the bad rows with their cells
    and reasons (message ids and parameters, shown in the reader's language)."""

    scope = ScopeSpec(project="project", company="project__company")

    class State(models.TextChoices):
        PREVIEW = "preview", _("waiting for confirmation")
        APPLIED = "applied", _("applied")
        CANCELLED = "cancelled", _("cancelled")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="price_imports",
                                verbose_name=_("project"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, related_name="+", verbose_name=_("uploaded by"))
    original_name = models.CharField(_("file"), max_length=200)
    file_hash = models.CharField(max_length=64, db_index=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices,
                             default=State.PREVIEW)
    headers = models.JSONField(default=list)
    rows = models.JSONField(default=list)
    rejected = models.JSONField(default=list)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    changed_count = models.PositiveIntegerField(_("units to change"), default=0)
    unchanged_count = models.PositiveIntegerField(_("units already at these values"), default=0)
    applied_count = models.PositiveIntegerField(_("units changed"), default=0)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("price list import")
        verbose_name_plural = _("price list imports")

    def __str__(self) -> str:
        return self.original_name

    @property
    def rejected_count(self) -> int:
        return len(self.rejected)
