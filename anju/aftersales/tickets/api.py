"""The tickets API under `/api/v1/`: tickets (scoped list, the queue in SLA order, the
worker's tasks, reception with photos as multipart, every flow action, timeline, photos),
the problem library (locations, components, categories, descriptions, warranty periods),
SLA policies, calendar days and the quality report.

Thin: rows come from `visible_to(user)` through the scoped base viewsets, writes from the
services. A refused move answers 409 `{"code": "wrong_status" | "not_in_flow" |
"already_recorded" | ..., "message": "..."}`; bad input 400 naming the field. Writes accept
an `Idempotency-Key` header (the base classes)."""

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from anju.aftersales.models import (
    CalendarDay,
    Component,
    Location,
    ProblemCategory,
    ProblemDescription,
    SlaPolicy,
    Ticket,
    TicketChannel,
    TicketEvent,
    TicketType,
    TicketUrgency,
    WarrantyPeriod,
    WorkCalendar,
)
from anju.core.api.base import AnjuGenericViewSet, ScopedGenericViewSet
from anju.core.api.errors import Conflict
from anju.core.api.pagination import AnjuCursorPagination

from . import reports, selectors, services
from .flows import IllegalMove

# --- serializers -------------------------------------------------------------------------------


class ServiceTicketSerializer(serializers.ModelSerializer):
    ticket_type_label = serializers.CharField(source="get_ticket_type_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    waiting_on_owner = serializers.BooleanField(read_only=True)

    class Meta:
        model = Ticket
        fields = ["id", "number", "title", "ticket_type", "ticket_type_label", "channel",
                  "status", "status_label", "urgency", "project", "customer", "building",
                  "unit", "public_area", "location", "component", "category", "description",
                  "owner_visible", "received_by", "first_line", "assignee_user",
                  "assignee_team", "assignee_contractor", "task_deadline", "handover_date",
                  "warranty_years", "warranty_until", "in_warranty", "payer",
                  "response_due", "onsite_due", "resolve_due", "callback_due", "next_due",
                  "next_clock", "waiting_on_owner", "escalation_level", "round",
                  "merged_into", "praised_team", "satisfaction", "confirmed_at", "closed_at",
                  "created_at"]
        read_only_fields = fields


class ReceptionSerializer(serializers.Serializer):
    ticket_type = serializers.ChoiceField(choices=TicketType.choices, default="repair")
    channel = serializers.ChoiceField(choices=TicketChannel.choices, default="call_centre")
    urgency = serializers.ChoiceField(choices=TicketUrgency.choices, default="normal")
    customer = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    unit = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    project = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    public_area = serializers.CharField(required=False, allow_blank=True, max_length=100)
    location = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    component = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    category = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    description_ref = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    description = serializers.CharField(max_length=2000)
    owner_visible = serializers.BooleanField(default=True)
    first_line = serializers.BooleanField(default=False)
    praised_team = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    photos = serializers.ListField(child=serializers.FileField(), required=False,
                                   max_length=9)


class DispatchSerializer(serializers.Serializer):
    user = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    team = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    contractor = serializers.CharField(required=False, allow_blank=True, max_length=100)
    deadline = serializers.DateTimeField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    photos = serializers.ListField(child=serializers.FileField(), required=False,
                                   max_length=9)


class ScoreSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class TargetSerializer(serializers.Serializer):
    team = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    agent = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    into = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class TicketEventSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="kind_label", read_only=True)

    class Meta:
        model = TicketEvent
        fields = ["id", "kind", "label", "from_status", "to_status", "actor", "actor_name",
                  "note", "data", "created_at"]


class LocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = ["id", "company", "name", "kind", "order", "active", "projects"]


class ComponentSerializer(serializers.ModelSerializer):
    warranty_years = serializers.SerializerMethodField()

    class Meta:
        model = Component
        fields = ["id", "company", "parent", "name", "order", "active", "categories",
                  "locations", "warranty_years"]

    def get_warranty_years(self, obj) -> int | None:
        warranty = getattr(obj, "warranty", None) if hasattr(obj, "warranty") else None
        return warranty.years if warranty else None


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = ProblemCategory
        fields = ["id", "company", "name", "order", "active"]


class DescriptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProblemDescription
        fields = ["id", "category", "component", "text", "uses"]
        read_only_fields = ["uses"]


class WarrantySerializer(serializers.ModelSerializer):
    class Meta:
        model = WarrantyPeriod
        fields = ["id", "component", "years", "note"]


class SlaPolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = SlaPolicy
        fields = ["id", "company", "ticket_type", "category", "urgency", "response_hours",
                  "onsite_hours", "resolve_hours", "callback_hours", "warn_percent"]


class CalendarDaySerializer(serializers.ModelSerializer):
    class Meta:
        model = CalendarDay
        fields = ["id", "calendar", "date", "is_workday", "note"]


# --- helpers -------------------------------------------------------------------------------------


def _call(fn, **kwargs):
    try:
        return fn(**kwargs)
    except IllegalMove as error:
        raise Conflict(error.message, code=error.code) from None


def _may_manage(request: Request) -> None:
    if not selectors.is_service_manager(request.user):
        raise exceptions.PermissionDenied()


class ByIdPagination(AnjuCursorPagination):
    ordering = "-id"


# --- tickets -----------------------------------------------------------------------------------


class TicketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedGenericViewSet):
    """Tickets in the caller's scope (plus those they received or were dispatched)."""

    model = Ticket
    serializer_class = ServiceTicketSerializer
    pagination_class = ByIdPagination
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def scope_queryset(self, qs):
        params = self.request.query_params
        if params.get("status") in dict(Ticket._meta.get_field("status").choices):
            qs = qs.filter(status=params["status"])
        if params.get("type") in TicketType.values:
            qs = qs.filter(ticket_type=params["type"])
        if params.get("customer", "").isdigit():
            qs = qs.filter(customer_id=int(params["customer"]))
        if params.get("open") == "1":
            qs = qs.filter(status__in=selectors.OPEN_STATUSES)
        return qs

    @extend_schema(parameters=[OpenApiParameter("status", str), OpenApiParameter("type", str),
                               OpenApiParameter("customer", int), OpenApiParameter("open", str)])
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ReceptionSerializer, responses={201: ServiceTicketSerializer})
    def create(self, request: Request) -> Response:
        """接待: receives a ticket (multipart for photos)."""
        data = request.data.copy() if hasattr(request.data, "copy") else dict(request.data)
        if hasattr(request.data, "getlist"):
            data.setlist("photos", request.FILES.getlist("photos"))
        params = ReceptionSerializer(data=data)
        params.is_valid(raise_exception=True)
        v = params.validated_data
        try:
            ticket = services.ticket_create(
                actor=request.user, customer_id=v.get("customer"), unit_id=v.get("unit"),
                project_id=v.get("project"), public_area=v.get("public_area", ""),
                location_id=v.get("location"), component_id=v.get("component"),
                category_id=v.get("category"), description_id=v.get("description_ref"),
                description=v["description"], urgency=v["urgency"],
                ticket_type=v["ticket_type"], channel=v["channel"],
                photos=v.get("photos", []), owner_visible=v["owner_visible"],
                first_line=v["first_line"], praised_team_id=v.get("praised_team"))
        except PermissionDenied as error:
            raise exceptions.PermissionDenied(str(error)) from None
        return Response(ServiceTicketSerializer(ticket).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ServiceTicketSerializer(many=True)},
                   parameters=[OpenApiParameter("after_due", str),
                               OpenApiParameter("after_id", int)])
    @action(detail=False, methods=["get"])
    def queue(self, request: Request) -> Response:
        """Open tickets in scope, the nearest deadline first, 50 a page; `next` gives the
        keyset of the following page."""
        params = request.query_params
        after = None
        if params.get("after_id", "").isdigit():
            try:
                due = (dt.datetime.fromisoformat(params["after_due"])
                       if params.get("after_due") else None)
            except ValueError:
                raise exceptions.ValidationError(
                    {"after_due": ["A valid date and time is required."]}) from None
            after = (due, int(params["after_id"]))
        filters = selectors.QueueFilters(
            ticket_type=params.get("type", "") if params.get("type") in TicketType.values
            else "", project_id=int(params["project"]) if params.get("project", "").isdigit()
            else None)
        rows = selectors.ticket_queue(viewer=request.user, filters=filters, after=after,
                                      limit=selectors.QUEUE_PAGE)
        next_keys = None
        if len(rows) == selectors.QUEUE_PAGE:
            last = rows[-1]
            next_keys = {"after_id": last.pk,
                         "after_due": last.next_due.isoformat() if last.next_due else ""}
        return Response({"results": ServiceTicketSerializer(rows, many=True).data,
                         "next": next_keys})

    @extend_schema(responses={200: ServiceTicketSerializer(many=True)})
    @action(detail=False, methods=["get"], url_path="my-tasks")
    def my_tasks(self, request: Request) -> Response:
        return Response(ServiceTicketSerializer(selectors.worker_tasks(worker=request.user),
                                         many=True).data)

    @extend_schema(responses={200: TicketEventSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def timeline(self, request: Request, pk=None) -> Response:
        ticket = self.get_object()
        return Response(TicketEventSerializer(selectors.ticket_timeline(ticket=ticket),
                                        many=True).data)

    @action(detail=True, methods=["get"])
    def photos(self, request: Request, pk=None) -> Response:
        ticket = self.get_object()
        return Response([{"id": p.pk, "stage": p.stage, "width": p.width, "height": p.height,
                          "url": reverse("aftersales:ticket_photo", args=[p.pk])}
                         for p in selectors.ticket_photos(ticket=ticket)])

    def _act(self, request: Request, pk, fn, serializer=NoteSerializer, **fixed) -> Response:
        self.get_object()  # 404 outside the scope
        data = request.data.copy() if hasattr(request.data, "copy") else dict(request.data)
        if hasattr(request.data, "getlist") and "photos" in serializer().fields:
            data.setlist("photos", request.FILES.getlist("photos"))
        params = serializer(data=data)
        params.is_valid(raise_exception=True)
        values = dict(params.validated_data)
        try:
            ticket = _call(fn, actor=request.user, ticket_id=int(pk), **fixed,
                           **self._arguments(fn, values))
        except PermissionDenied as error:
            raise exceptions.PermissionDenied(str(error)) from None
        ticket = Ticket.objects.get(pk=ticket.pk)
        return Response(ServiceTicketSerializer(ticket).data)

    @staticmethod
    def _arguments(fn, values: dict) -> dict:
        name = fn.__name__
        note = values.get("note", "")
        photos = values.get("photos", [])
        if name in ("ticket_dispatch", "ticket_redispatch"):
            return {"user_id": values.get("user"), "team_id": values.get("team"),
                    "contractor": values.get("contractor", ""),
                    "deadline": values.get("deadline"), "note": note}
        if name in ("ticket_callback", "ticket_rate"):
            return {"score": values["score"], "comment": values.get("comment", "")}
        if name in ("ticket_reject", "ticket_reopen", "ticket_cancel", "ticket_wait_owner"):
            return {"reason": note}
        if name == "ticket_complete":
            return {"note": note, "photos": photos}
        if name == "ticket_note":
            return {"note": note, "photos": photos}
        if name == "ticket_transfer":
            return {"team_id": values.get("team"), "agent_id": values.get("agent"),
                    "reason": note}
        if name == "ticket_hand_over":
            return {"team_id": values.get("team") or 0, "note": note}
        if name == "ticket_merge":
            return {"into_id": values.get("into") or 0, "note": note}
        return {"note": note}


def _flow_action(name: str, fn, serializer=NoteSerializer, doc: str = "", **fixed):
    @extend_schema(request=serializer, responses={200: ServiceTicketSerializer}, description=doc)
    def handler(self, request, pk=None):
        return self._act(request, pk, fn, serializer, **fixed)

    handler.__name__ = "flow_" + name.replace("-", "_")
    return action(detail=True, methods=["post"], url_path=name, url_name=name)(handler)


for _name, _fn, _serializer, _fixed, _doc in (
    ("task", services.ticket_task, NoteSerializer, {}, "任务: make a task of it."),
    ("dispatch", services.ticket_dispatch, DispatchSerializer, {},
     "派单 to a worker, team or contractor with a deadline."),
    ("redispatch", services.ticket_redispatch, DispatchSerializer, {}, "Dispatch again."),
    ("accept", services.ticket_accept, NoteSerializer, {}, "The assignee accepts."),
    ("start", services.ticket_start, NoteSerializer, {}, "On site, work starts."),
    ("complete", services.ticket_complete, NoteSerializer, {},
     "Work done, with photos (multipart)."),
    ("confirm", services.ticket_confirm, NoteSerializer, {"on_behalf": True},
     "确认 on the owner's behalf."),
    ("reject", services.ticket_reject, NoteSerializer, {}, "The owner does not accept."),
    ("close", services.ticket_close, NoteSerializer, {}, "关闭."),
    ("callback", services.ticket_callback, ScoreSerializer, {},
     "回访: satisfaction 1–5, once per round."),
    ("reopen", services.ticket_reopen, NoteSerializer, {}, "Reopen (reason in note)."),
    ("transfer", services.ticket_transfer, TargetSerializer, {}, "To another team/agent."),
    ("hand-over", services.ticket_hand_over, TargetSerializer, {},
     "一线处理: headquarters hands it to the project's team."),
    ("wait-owner", services.ticket_wait_owner, NoteSerializer, {},
     "The clock stops: waiting on the owner."),
    ("resume", services.ticket_resume, NoteSerializer, {}, "The clock runs again."),
    ("merge", services.ticket_merge, TargetSerializer, {}, "Merge into `into`."),
    ("cancel", services.ticket_cancel, NoteSerializer, {}, "Cancel (reason in note)."),
    ("note", services.ticket_note, NoteSerializer, {}, "A note, optionally with photos."),
):
    # prefixed: "dispatch" would otherwise replace the view's own dispatch()
    setattr(TicketViewSet, "flow_" + _name.replace("-", "_"),
            _flow_action(_name, _fn, _serializer, _doc, **_fixed))


# --- library ---------------------------------------------------------------------------


class _LibraryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      mixins.UpdateModelMixin, ScopedGenericViewSet):
    """Read by every signed-in user of the company; written by service managers."""

    pagination_class = ByIdPagination

    def perform_create(self, serializer):
        _may_manage(self.request)
        self._check_company(serializer.validated_data)
        serializer.save()

    def perform_update(self, serializer):
        _may_manage(self.request)
        self._check_company(serializer.validated_data)
        serializer.save()

    def _check_company(self, data: dict) -> None:
        company = data.get("company")
        if company is not None and company.pk not in self.request.user.data_scope(
        ).company_ids and not self.request.user.is_superuser:
            from anju.accounts.models import Project

            if not Project.objects.visible_to(self.request.user).filter(
                    company=company).exists():
                raise exceptions.ValidationError({"company": ["Not in your scope."]})


class LocationViewSet(_LibraryViewSet):
    model = Location
    serializer_class = LocationSerializer

    def scope_queryset(self, qs):
        return qs.prefetch_related("projects")


class ComponentViewSet(_LibraryViewSet):
    model = Component
    serializer_class = ComponentSerializer

    def scope_queryset(self, qs):
        qs = qs.select_related("warranty").prefetch_related("categories", "locations")
        location = self.request.query_params.get("location", "")
        if location.isdigit():
            from django.db.models import Q

            qs = qs.filter(Q(locations__id=int(location)) | Q(locations__isnull=True)).distinct()
        return qs


class CategoryViewSet(_LibraryViewSet):
    model = ProblemCategory
    serializer_class = CategorySerializer

    def scope_queryset(self, qs):
        component = self.request.query_params.get("component", "")
        return qs.filter(components__id=int(component)) if component.isdigit() else qs


class DescriptionViewSet(_LibraryViewSet):
    """Common descriptions; any service agent may add one (managers edit)."""

    model = ProblemDescription
    serializer_class = DescriptionSerializer

    def scope_queryset(self, qs):
        category = self.request.query_params.get("category", "")
        return qs.filter(category_id=int(category)) if category.isdigit() else qs

    def perform_create(self, serializer):
        if not selectors.is_service_staff(self.request.user):
            raise exceptions.PermissionDenied()
        category = serializer.validated_data["category"]
        if not ProblemCategory.objects.visible_to(self.request.user).filter(
                pk=category.pk).exists():
            raise exceptions.ValidationError({"category": ["Not in your scope."]})
        serializer.save(added_by=self.request.user)


class WarrantyViewSet(_LibraryViewSet):
    model = WarrantyPeriod
    serializer_class = WarrantySerializer


class SlaPolicyViewSet(_LibraryViewSet):
    model = SlaPolicy
    serializer_class = SlaPolicySerializer


class CalendarDayViewSet(_LibraryViewSet):
    """An admin's word on days the holiday library does not know (or gets wrong)."""

    model = CalendarDay
    serializer_class = CalendarDaySerializer

    def perform_create(self, serializer):
        _may_manage(self.request)
        calendar = serializer.validated_data["calendar"]
        if not WorkCalendar.objects.visible_to(self.request.user).filter(
                pk=calendar.pk).exists():
            raise exceptions.ValidationError({"calendar": ["Not in your scope."]})
        serializer.save()


class QualityRowSerializer(serializers.Serializer):
    label = serializers.CharField()
    count = serializers.IntegerField()
    share = serializers.FloatField()


class QualityReportSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    total = serializers.IntegerField()
    closed = serializers.IntegerField()
    repairs = serializers.IntegerField()
    repeat_repairs = serializers.IntegerField()
    repeat_rate = serializers.FloatField()
    hours_to_close = serializers.FloatField(allow_null=True)
    satisfaction = serializers.FloatField(allow_null=True)
    by_type = QualityRowSerializer(many=True)
    by_project = QualityRowSerializer(many=True)
    by_building = QualityRowSerializer(many=True)
    by_component = QualityRowSerializer(many=True)
    by_category = QualityRowSerializer(many=True)


class QualityViewSet(AnjuGenericViewSet):
    """The quality feedback report of a period (`start`, `end` dates, end exclusive)."""

    serializer_class = QualityReportSerializer

    def get_queryset(self):
        return Ticket.objects.none()  # only for the schema generator: the report reads its own

    @extend_schema(parameters=[OpenApiParameter("start", str), OpenApiParameter("end", str),
                               OpenApiParameter("project", int)],
                   responses={200: QualityReportSerializer})
    def list(self, request: Request) -> Response:
        if not selectors.is_service_staff(request.user):
            raise exceptions.PermissionDenied()
        try:
            start = dt.date.fromisoformat(request.query_params.get("start", ""))
        except ValueError:
            raise exceptions.ValidationError({"start": ["A valid date is required."]}) from None
        try:
            end = dt.date.fromisoformat(request.query_params.get("end", ""))
        except ValueError:
            raise exceptions.ValidationError({"end": ["A valid date is required."]}) from None
        if end <= start or (end - start).days > 400:
            raise exceptions.ValidationError({"end": ["After start, within 400 days."]})
        project = request.query_params.get("project", "")
        report = reports.quality_report(viewer=request.user, start=start, end=end,
                                        project_id=int(project) if project.isdigit() else None)
        rows = lambda items: [{"label": r.label, "count": r.count, "share": r.share}  # noqa: E731
                              for r in items]
        return Response({
            "start": start, "end": end, "total": report.total, "closed": report.closed,
            "repairs": report.repairs, "repeat_repairs": report.repeat_repairs,
            "repeat_rate": report.repeat_rate, "hours_to_close": report.hours_to_close,
            "satisfaction": report.satisfaction, "by_type": rows(report.by_type),
            "by_project": rows(report.by_project), "by_building": rows(report.by_building),
            "by_component": rows(report.by_component),
            "by_category": rows(report.by_category)})


def register(router: BaseRouter) -> None:
    router.register("tickets", TicketViewSet, basename="ticket")
    router.register("service-locations", LocationViewSet, basename="service-location")
    router.register("service-components", ComponentViewSet, basename="service-component")
    router.register("problem-categories", CategoryViewSet, basename="problem-category")
    router.register("problem-descriptions", DescriptionViewSet, basename="problem-description")
    router.register("warranty-periods", WarrantyViewSet, basename="warranty-period")
    router.register("sla-policies", SlaPolicyViewSet, basename="sla-policy")
    router.register("service-calendar-days", CalendarDayViewSet, basename="service-calendar-day")
    router.register("service-quality", QualityViewSet, basename="service-quality")
