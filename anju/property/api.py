"""The property API under `/api/v1/`: buildings (list, create from a pattern, board data with
"changed since"), unit types (with floor plan upload), units (filters, sales control
lock/release, prices, history) and price-list imports (preview, apply, cancel, error sheet).

Thin: rows come from `visible_to(user)` (the scoped base viewsets), writes from the services.
The floor price (底价) is null for callers without `control_sales` / `approve_deals`. A refused
unit move answers `{"code": "unit_taken" | "illegal_move" | ..., "message": "..."}` with 409
(403 for "forbidden", 404 for "not_found", 400 for "reason_required")."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from anju.core.api.base import ScopedGenericViewSet
from anju.core.api.errors import Conflict
from anju.core.api.pagination import AnjuCursorPagination

from . import inventory, price_import, selectors, services
from .models import Building, PriceImport, Unit, UnitStatusChange, UnitType

MONEY = {"max_digits": 14, "decimal_places": 2}


def transition_error(error: services.UnitTransitionError) -> exceptions.APIException:
    """The API answer of a refused unit move (sales uses it for its own endpoints too)."""
    if error.code == "not_found":
        return exceptions.NotFound(error.message, code=error.code)
    if error.code == "forbidden":
        return exceptions.PermissionDenied(error.message, code=error.code)
    if error.code == "reason_required":
        return exceptions.ValidationError({"reason": [error.message]})
    return Conflict(error.message, code=error.code)


# --- serializers -----------------------------------------------------------------------------

class BuildingSerializer(serializers.ModelSerializer):
    project_name = serializers.CharField(source="project.name", read_only=True)
    counts = serializers.SerializerMethodField()

    class Meta:
        model = Building
        fields = ["id", "project", "project_name", "name", "code", "floor_count",
                  "units_per_floor", "revision", "version", "counts"]
        read_only_fields = fields

    def get_counts(self, building: Building) -> dict[str, int]:
        """Units per status, every status present (0 when none)."""
        counted = self.context.get("counts", {}).get(building.pk, {})
        return {status: counted.get(status, 0) for status in Unit.Status.values}


class BuildingPatternSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    name = serializers.CharField(max_length=50)
    code = serializers.CharField(max_length=16)
    floor_count = serializers.IntegerField(min_value=1)
    units_per_floor = serializers.IntegerField(min_value=1)
    type_map = serializers.ListField(child=serializers.IntegerField(allow_null=True),
                                     help_text="Unit type id per position (null: none).")
    base_unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    floor_increment = serializers.DecimalField(max_digits=12, decimal_places=2,
                                               default=Decimal("0"))
    floor_price_ratio = serializers.DecimalField(max_digits=5, decimal_places=4,
                                                 required=False, allow_null=True)
    default_area = serializers.DecimalField(max_digits=9, decimal_places=2, required=False,
                                            allow_null=True)


class UnitTypeSerializer(serializers.ModelSerializer):
    layout = serializers.CharField(read_only=True)
    floor_plan = serializers.ImageField(required=False, allow_null=True, write_only=True)
    floor_plan_url = serializers.SerializerMethodField()

    class Meta:
        model = UnitType
        fields = ["id", "project", "name", "rooms", "halls", "bathrooms", "layout",
                  "built_area", "usable_area", "orientation", "floor_plan", "floor_plan_url"]
        read_only_fields = ["id", "layout", "floor_plan_url"]
        # The (project, name) rule is the service's, answered as a field error there.
        validators: list = []


    def get_floor_plan_url(self, unit_type: UnitType) -> str | None:
        """The image's address (scoped like the unit type); null without a floor plan."""
        if not unit_type.floor_plan:
            return None
        return reverse("property:unit_type_floor_plan", args=[unit_type.pk])


class UnitSerializer(serializers.ModelSerializer):
    building_name = serializers.CharField(source="building.name", read_only=True)
    project = serializers.IntegerField(source="building.project_id", read_only=True)
    unit_type_name = serializers.CharField(source="unit_type.name", read_only=True,
                                           default=None)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=0, read_only=True)
    floor_price = serializers.SerializerMethodField()

    class Meta:
        model = Unit
        fields = ["id", "building", "building_name", "project", "floor", "position", "number",
                  "label", "unit_type", "unit_type_name", "built_area", "usable_area",
                  "list_price", "unit_price", "floor_price", "status", "status_changed_at",
                  "revision", "version"]
        read_only_fields = fields

    def get_floor_price(self, unit: Unit) -> str | None:
        """The floor price, for sales control and deal approvers; null for everyone else."""
        if unit.floor_price is None or not self.context.get("show_floor_price"):
            return None
        return f"{unit.floor_price:.2f}"


class BoardUnitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    floor = serializers.IntegerField()
    position = serializers.IntegerField()
    number = serializers.CharField()
    label = serializers.CharField()
    status = serializers.CharField()
    unit_type = serializers.IntegerField(source="unit_type_id", allow_null=True)
    unit_type_name = serializers.CharField(source="unit_type.name", default=None)
    built_area = serializers.DecimalField(**{"max_digits": 9, "decimal_places": 2})
    list_price = serializers.DecimalField(**MONEY)
    revision = serializers.IntegerField()


class StatusCountSerializer(serializers.Serializer):
    status = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()


class BoardSerializer(serializers.Serializer):
    building = serializers.IntegerField()
    revision = serializers.IntegerField()
    changed_only = serializers.BooleanField()
    counts = StatusCountSerializer(many=True)
    units = BoardUnitSerializer(many=True, help_text="Top floor first, then by position.")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                   default="")


class PricesSerializer(serializers.Serializer):
    unit_type = serializers.IntegerField(required=False, allow_null=True)
    built_area = serializers.DecimalField(max_digits=9, decimal_places=2, required=False)
    usable_area = serializers.DecimalField(max_digits=9, decimal_places=2, required=False,
                                           allow_null=True)
    list_price = serializers.DecimalField(**MONEY, required=False)
    floor_price = serializers.DecimalField(**MONEY, required=False, allow_null=True)


class HistorySerializer(serializers.ModelSerializer):
    actor_name = serializers.CharField(source="actor.__str__", default=None, read_only=True)

    class Meta:
        model = UnitStatusChange
        fields = ["id", "from_status", "to_status", "actor", "actor_name", "reason",
                  "reference", "created_at"]
        read_only_fields = fields


class RejectedRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    values = serializers.ListField(child=serializers.CharField(allow_blank=True))
    reasons = serializers.ListField(child=serializers.CharField())


class PriceImportSerializer(serializers.ModelSerializer):
    rejected_rows = serializers.SerializerMethodField()
    rejected_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = PriceImport
        fields = ["id", "project", "original_name", "state", "total_rows", "changed_count",
                  "unchanged_count", "rejected_count", "applied_count", "created_at",
                  "finished_at", "rejected_rows"]
        read_only_fields = fields

    @extend_schema_field(RejectedRowSerializer(many=True))
    def get_rejected_rows(self, job: PriceImport) -> list[dict]:
        return [{"row": r["row"], "values": r["values"],
                 "reasons": [price_import.reason_text(x) for x in r["reasons"]]}
                for r in job.rejected[:500]]


class PriceImportUploadSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    file = serializers.FileField()


# --- viewsets ----------------------------------------------------------------------------------

class ByIdPagination(AnjuCursorPagination):
    """Inventory reads in the order it was created (building by building, floor by floor)."""

    ordering = "id"


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise exceptions.ValidationError({name: ["A valid integer is required."]}) from None


def _decimal_param(request: Request, name: str) -> Decimal | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    field = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    try:
        return field.to_internal_value(raw)
    except exceptions.ValidationError as error:
        raise exceptions.ValidationError({name: error.detail}) from None


class BuildingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      mixins.CreateModelMixin, ScopedGenericViewSet):
    """Buildings of the caller's projects; POST builds one with its units from a pattern."""

    model = Building
    serializer_class = BuildingSerializer
    pagination_class = ByIdPagination

    def scope_queryset(self, qs):
        qs = qs.select_related("project").order_by("project_id", "code")
        project = _int_param(self.request, "project")
        return qs.filter(project_id=project) if project else qs

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["counts"] = getattr(self, "_counts", {})
        return context

    @extend_schema(parameters=[OpenApiParameter("project", int)])
    def list(self, request: Request, *args, **kwargs) -> Response:
        """Buildings with their units counted by status (one query for the page's counts)."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        self._counts = selectors.unit_counts_by_building([b.pk for b in page])
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        building = self.get_object()
        self._counts = selectors.unit_counts_by_building([building.pk])
        return Response(self.get_serializer(building).data)

    @extend_schema(request=BuildingPatternSerializer, responses={201: BuildingSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        """A building with all its units, numbered floor × position and priced by pattern."""
        params = BuildingPatternSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        project = data.pop("project")
        building = inventory.building_create_from_pattern(
            actor=request.user, project_id=project,
            pattern=inventory.BuildingPattern(**data))
        building = Building.objects.select_related("project").get(pk=building.pk)
        self._counts = selectors.unit_counts_by_building([building.pk])
        return Response(self.get_serializer(building).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[OpenApiParameter("since", int, description=(
        "A revision the caller already has: only units changed after it are returned, "
        "and 204 when nothing changed."))],
        responses={200: BoardSerializer, 204: OpenApiResponse(description="No change.")})
    @action(detail=True, methods=["get"])
    def board(self, request: Request, pk=None) -> Response:
        """The sales-control board of one building: every unit (or those changed since a
        revision) with status, price and area, and the counts per status."""
        building = self.get_object()
        since = _int_param(request, "since")
        if since is not None and since == building.revision:
            return Response(status=status.HTTP_204_NO_CONTENT)
        if since is None:
            board = selectors.board_for(building=building)
            units = [cell.unit for _floor, cells in board.floors for cell in cells if cell]
            counts = board.counts
        else:
            cells, counts = selectors.board_changes(building=building, since=since)
            units = [cell.unit for cell in cells]
        # Built by hand (BoardSerializer documents the shape): 320 units through nested
        # DecimalFields cost more than the database reads.
        body = {"building": building.pk, "revision": building.revision,
                "changed_only": since is not None,
                "counts": [{"status": s, "label": label, "count": n} for s, label, n in counts],
                "units": [{
                    "id": u.pk, "floor": u.floor, "position": u.position, "number": u.number,
                    "label": u.label, "status": u.status, "unit_type": u.unit_type_id,
                    "unit_type_name": u.unit_type_name,
                    "built_area": f"{u.built_area:.2f}", "list_price": f"{u.list_price:.2f}",
                    "revision": u.revision} for u in units]}
        return Response(body)


class UnitTypeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      mixins.CreateModelMixin, mixins.UpdateModelMixin, ScopedGenericViewSet):
    """Unit types (户型) of the caller's projects; floor plans upload as multipart."""

    model = UnitType
    serializer_class = UnitTypeSerializer
    pagination_class = ByIdPagination
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def scope_queryset(self, qs):
        qs = qs.order_by("project_id", "name")
        project = _int_param(self.request, "project")
        return qs.filter(project_id=project) if project else qs

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        project = data.pop("project")
        plan = data.pop("floor_plan", None)
        serializer.instance = inventory.unit_type_save(
            actor=self.request.user, project_id=project.pk, values=data, floor_plan=plan)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("project", None)
        plan = data.pop("floor_plan", None)
        serializer.instance = inventory.unit_type_save(
            actor=self.request.user, project_id=None, values=data, floor_plan=plan,
            unit_type=serializer.instance)


UNIT_FILTERS = [
    OpenApiParameter("building", int), OpenApiParameter("project", int),
    OpenApiParameter("status", str, description="One status, or several comma-separated."),
    OpenApiParameter("unit_type", int),
    OpenApiParameter("price_min", OpenApiTypes.DECIMAL, description="List price ≥ (yuan)."),
    OpenApiParameter("price_max", OpenApiTypes.DECIMAL, description="List price ≤ (yuan)."),
]


class UnitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedGenericViewSet):
    """Units of the caller's projects, filterable; sales control and prices as actions."""

    model = Unit
    serializer_class = UnitSerializer
    pagination_class = ByIdPagination

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["show_floor_price"] = selectors.may_see_floor_price(self.request.user)
        return context

    def scope_queryset(self, qs):
        qs = qs.select_related("building", "unit_type").order_by("id")
        if self.action != "list":
            return qs
        request = self.request
        for name, lookup in (("building", "building_id"), ("project", "building__project_id"),
                             ("unit_type", "unit_type_id")):
            value = _int_param(request, name)
            if value:
                qs = qs.filter(**{lookup: value})
        statuses = [s for s in (request.query_params.get("status") or "").split(",") if s]
        unknown = [s for s in statuses if s not in Unit.Status.values]
        if unknown:
            raise exceptions.ValidationError({"status": [
                f"Unknown status: {', '.join(unknown)}."]})
        if statuses:
            qs = qs.filter(status__in=statuses)
        low, high = _decimal_param(request, "price_min"), _decimal_param(request, "price_max")
        if low is not None:
            qs = qs.filter(list_price__gte=low)
        if high is not None:
            qs = qs.filter(list_price__lte=high)
        return qs

    @extend_schema(parameters=UNIT_FILTERS)
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    def _move(self, request: Request, service) -> Response:
        unit = self.get_object()
        params = ReasonSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            service(unit_id=unit.pk, actor=request.user, reason=params.validated_data["reason"])
        except services.UnitTransitionError as error:
            raise transition_error(error) from None
        fresh = self.get_queryset().get(pk=unit.pk)
        return Response(self.get_serializer(fresh).data)

    @extend_schema(request=ReasonSerializer, responses={200: UnitSerializer})
    @action(detail=True, methods=["post"])
    def lock(self, request: Request, pk=None) -> Response:
        """Sales control: withhold an available unit from sale (reason required)."""
        return self._move(request, services.unit_lock)

    @extend_schema(request=ReasonSerializer, responses={200: UnitSerializer})
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk=None) -> Response:
        """Sales control: put a locked unit back on sale."""
        return self._move(request, services.unit_release)

    @extend_schema(request=PricesSerializer, responses={200: UnitSerializer})
    @action(detail=True, methods=["post"])
    def prices(self, request: Request, pk=None) -> Response:
        """Change type, areas, list or floor price of an available or locked unit."""
        unit = self.get_object()
        params = PricesSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        inventory.unit_prices_set(actor=request.user, unit_id=unit.pk,
                                  changes=dict(params.validated_data))
        return Response(self.get_serializer(self.get_queryset().get(pk=unit.pk)).data)

    @extend_schema(responses={200: HistorySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk=None) -> Response:
        """Every status move of the unit, newest first (at most 200)."""
        unit = self.get_object()
        rows = selectors.unit_history(user=request.user, unit_id=unit.pk, limit=200)
        return Response(HistorySerializer(rows, many=True).data)


class PriceImportViewSet(mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                         ScopedGenericViewSet):
    """Price-list imports: POST a file → preview; then apply (once) or cancel."""

    model = PriceImport
    serializer_class = PriceImportSerializer
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": PriceImportUploadSerializer},
                   responses={201: PriceImportSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        """Check a price list (xlsx or csv): nothing is written but the preview."""
        params = PriceImportUploadSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        upload = params.validated_data["file"]
        job = price_import.price_import_check(
            actor=request.user, project_id=params.validated_data["project"],
            name=upload.name, data=upload.read(price_import.MAX_BYTES + 1))
        return Response(PriceImportSerializer(job).data, status=status.HTTP_201_CREATED)

    def _finish(self, function) -> Response:
        job = self.get_object()
        try:
            job = function(actor=self.request.user, import_id=job.pk)
        except ValidationError as error:
            raise Conflict(" ".join(error.messages), code="import_finished") from None
        return Response(PriceImportSerializer(PriceImport.objects.get(pk=job.pk)).data)

    @extend_schema(request=None, responses={200: PriceImportSerializer})
    @action(detail=True, methods=["post"])
    def apply(self, request: Request, pk=None) -> Response:
        """Write the good rows (once; a second call answers 409)."""
        return self._finish(price_import.price_import_apply)

    @extend_schema(request=None, responses={200: PriceImportSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        """Drop the preview; no unit changes."""
        return self._finish(price_import.price_import_cancel)

    @extend_schema(responses={(200, "application/vnd.openxmlformats-officedocument."
                                    "spreadsheetml.sheet"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def errors(self, request: Request, pk=None) -> FileResponse:
        """The rejected rows as xlsx, with the reason in the caller's language."""
        job = self.get_object()
        stem = job.original_name.rsplit(".", 1)[0] or "price-list"
        return FileResponse(price_import.error_sheet(job), as_attachment=True,
                            filename=f"{stem}-rejected.xlsx")


def register(router: BaseRouter) -> None:
    router.register("buildings", BuildingViewSet, basename="building")
    router.register("unit-types", UnitTypeViewSet, basename="unit-type")
    router.register("units", UnitViewSet, basename="unit")
    router.register("price-imports", PriceImportViewSet, basename="price-import")
