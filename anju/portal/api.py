"""The owner portal's own narrow API, under /api/v1/portal/: the signed-in owner's units,
tickets (file, follow, confirm, rate), surveys (answer) and handover bookings.

It authenticates only the owner's session cookie (`anju_owner`, with Django's CSRF check on
writes, as DRF's session authentication does), never a staff session or token, and every
row comes from the owner's own selectors: another owner's id is a 404."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication, CSRFCheck
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from anju.aftersales.care import selectors as care_selectors
from anju.aftersales.care import services as care
from anju.aftersales.care.services import CareError
from anju.aftersales.models import HandoverUnit, SurveyInvitation, Ticket
from anju.aftersales.tickets import services as tickets
from anju.aftersales.tickets.flows import IllegalMove
from anju.aftersales.tickets.selectors import ticket_timeline
from anju.core.api.base import AnjuGenericViewSet
from anju.core.api.errors import Conflict
from anju.property.models import Unit

from . import selectors
from .auth import owner_from_request
from .models import OwnerAccount


class OwnerSessionAuthentication(BaseAuthentication):
    """The owner's portal session; `request.user` is the account's acting user,
    `request.auth` the OwnerAccount."""

    def authenticate(self, request):
        owner = owner_from_request(request._request)
        if owner is None:
            return None
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            check = CSRFCheck(lambda req: None)
            check.process_request(request._request)
            reason = check.process_view(request._request, None, (), {})
            if reason:
                raise PermissionDenied(f"CSRF Failed: {reason}")
        return owner.user, owner

    def authenticate_header(self, request) -> str:
        return 'Session realm="owner portal"'


class OwnerSessionScheme(OpenApiAuthenticationExtension):
    target_class = "anju.portal.api.OwnerSessionAuthentication"
    name = "ownerSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "anju_owner"}


class IsOwner(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, OwnerAccount)


class PortalConflict(Conflict):
    default_code = "conflict"


class PortalViewSet(AnjuGenericViewSet):
    authentication_classes = [OwnerSessionAuthentication]
    permission_classes = [IsOwner]
    pagination_class = None

    @property
    def owner(self) -> OwnerAccount:
        return self.request.auth

    def handle_exception(self, exc):
        if isinstance(exc, CareError):
            exc = PortalConflict(detail=exc.message, code=exc.code)
        elif isinstance(exc, IllegalMove):
            exc = PortalConflict(detail=str(exc), code=getattr(exc, "code", "illegal_move"))
        elif isinstance(exc, DjangoPermissionDenied):
            exc = PortalConflict(detail=str(exc), code="forbidden")
        return super().handle_exception(exc)


# --- units --------------------------------------------------------------------------------------
class OwnerUnitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    project = serializers.CharField(source="building.project.name")
    building = serializers.CharField(source="building.name")
    status = serializers.CharField()


class OwnerUnitViewSet(PortalViewSet):
    """The owner's units (buyer of a contracted or delivered deal)."""

    queryset = Unit.objects.none()  # for the schema only
    serializer_class = OwnerUnitSerializer

    def list(self, request: Request) -> Response:
        units = selectors.owner_units(owner=self.owner)
        return Response(OwnerUnitSerializer(units, many=True).data)


# --- tickets ------------------------------------------------------------------------------------
class OwnerTicketSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    ticket_type = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    title = serializers.CharField()
    description = serializers.CharField()
    unit = serializers.IntegerField(source="unit_id", allow_null=True)
    satisfaction = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class OwnerTicketEventSerializer(serializers.Serializer):
    kind = serializers.CharField()
    to_status = serializers.CharField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


class OwnerTicketFileSerializer(serializers.Serializer):
    ticket_type = serializers.ChoiceField(choices=["repair", "complaint"])
    unit = serializers.IntegerField()
    location = serializers.IntegerField(required=False, allow_null=True)
    problem = serializers.CharField(required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=2000)
    photos = serializers.ListField(child=serializers.ImageField(), required=False,
                                   default=list)


class OwnerRateSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, default="",
                                    max_length=2000)


class OwnerTicketViewSet(PortalViewSet):
    """The owner's tickets: list, detail with the owner's timeline, file one (multipart with
    photos), confirm the work, rate it."""

    queryset = Ticket.objects.none()  # for the schema only
    serializer_class = OwnerTicketSerializer

    def list(self, request: Request) -> Response:
        rows = selectors.owner_tickets(owner=self.owner)[:100]
        return Response(OwnerTicketSerializer(rows, many=True).data)

    @extend_schema(responses={200: OwnerTicketSerializer})
    def retrieve(self, request: Request, pk=None) -> Response:
        ticket = selectors.owner_ticket_get(owner=self.owner, ticket_id=pk)
        data = OwnerTicketSerializer(ticket).data
        data["events"] = OwnerTicketEventSerializer(ticket_timeline(ticket=ticket, owner_view=True),
                                         many=True).data
        return Response(data)

    @extend_schema(request=OwnerTicketFileSerializer, responses={201: OwnerTicketSerializer})
    def create(self, request: Request) -> Response:
        params = OwnerTicketFileSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        unit = selectors.owner_unit_get(owner=self.owner, unit_id=data["unit"])
        component_id, category_id = care_selectors.parse_problem(data["problem"])
        if data["ticket_type"] == "repair" and not component_id:
            raise serializers.ValidationError({"problem": [_no_problem()]})
        ticket = tickets.ticket_create(
            actor=self.owner.user, customer_id=self.owner.customer_id, unit_id=unit.pk,
            ticket_type=data["ticket_type"], channel="portal",
            location_id=data.get("location"), component_id=component_id,
            category_id=category_id, description=data["description"],
            photos=request.FILES.getlist("photos"), on_behalf_of_owner=True)
        return Response(OwnerTicketSerializer(ticket).data, status=201)

    @extend_schema(request=None, responses={200: OwnerTicketSerializer})
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk=None) -> Response:
        ticket = selectors.owner_ticket_get(owner=self.owner, ticket_id=pk)
        done = tickets.ticket_confirm(actor=self.owner.user, ticket_id=ticket.pk,
                                      customer_id=self.owner.customer_id)
        return Response(OwnerTicketSerializer(done).data)

    @extend_schema(request=OwnerRateSerializer, responses={200: OwnerTicketSerializer})
    @action(detail=True, methods=["post"])
    def rate(self, request: Request, pk=None) -> Response:
        ticket = selectors.owner_ticket_get(owner=self.owner, ticket_id=pk)
        params = OwnerRateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        done = tickets.ticket_rate(actor=self.owner.user, ticket_id=ticket.pk,
                                   score=params.validated_data["score"],
                                   comment=params.validated_data["comment"],
                                   customer_id=self.owner.customer_id)
        return Response(OwnerTicketSerializer(done).data)


def _no_problem() -> str:
    from django.utils.translation import gettext as _

    return _("Choose what the problem is.")


# --- surveys ------------------------------------------------------------------------------------
class OwnerSurveySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="template.name")
    trigger = serializers.CharField()
    sent_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)
    questions = serializers.SerializerMethodField()

    def get_questions(self, obj) -> list[dict]:
        return [{"id": q.pk, "kind": q.kind, "text": q.text, "choices": q.choices,
                 "required": q.required} for q in obj.template.questions.all()]


class OwnerAnswersSerializer(serializers.Serializer):
    answers = serializers.DictField(help_text="question id → answer")


class OwnerSurveyViewSet(PortalViewSet):
    """The owner's surveys; POST `answer` with {"answers": {"<question id>": value}}."""

    queryset = SurveyInvitation.objects.none()  # for the schema only
    serializer_class = OwnerSurveySerializer

    def list(self, request: Request) -> Response:
        rows = selectors.owner_invitations(owner=self.owner).prefetch_related(
            "template__questions")[:50]
        return Response(OwnerSurveySerializer(rows, many=True).data)

    def retrieve(self, request: Request, pk=None) -> Response:
        return Response(OwnerSurveySerializer(
            selectors.owner_invitation_get(owner=self.owner, invitation_id=pk)).data)

    @extend_schema(request=OwnerAnswersSerializer, responses={200: OwnerSurveySerializer})
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, pk=None) -> Response:
        invitation = selectors.owner_invitation_get(owner=self.owner, invitation_id=pk)
        answers = request.data.get("answers") if hasattr(request.data, "get") else None
        if not isinstance(answers, dict):
            raise serializers.ValidationError({"answers": [_no_answers()]})
        care.survey_submit(invitation=invitation,
                           answers={str(k): v for k, v in answers.items()})
        invitation.refresh_from_db()
        return Response(OwnerSurveySerializer(invitation).data)


def _no_answers() -> str:
    from django.utils.translation import gettext as _

    return _("Send the answers as an object of question id → answer.")


# --- handover -----------------------------------------------------------------------------------
class OwnerHandoverSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    batch = serializers.CharField(source="batch.name")
    unit = serializers.CharField(source="unit.label")
    stage = serializers.CharField()
    slot = serializers.IntegerField(source="slot_id", allow_null=True)
    slot_starts_at = serializers.DateTimeField(source="slot.starts_at", allow_null=True,
                                               default=None)


class OwnerSlotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    free = serializers.IntegerField()


class OwnerBookSerializer(serializers.Serializer):
    slot = serializers.IntegerField()


class OwnerHandoverViewSet(PortalViewSet):
    """The owner's units in open handover batches; `slots` lists the bookable times, POST
    `book` books one (409 "slot_full" when it is taken)."""

    queryset = HandoverUnit.objects.none()  # for the schema only
    serializer_class = OwnerHandoverSerializer

    def list(self, request: Request) -> Response:
        return Response(OwnerHandoverSerializer(selectors.owner_handovers(owner=self.owner),
                                           many=True).data)

    @extend_schema(responses={200: OwnerSlotSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def slots(self, request: Request, pk=None) -> Response:
        handover = selectors.owner_handover_get(owner=self.owner, handover_id=pk)
        return Response(OwnerSlotSerializer(selectors.bookable_slots(handover=handover),
                                       many=True).data)

    @extend_schema(request=OwnerBookSerializer, responses={200: OwnerHandoverSerializer})
    @action(detail=True, methods=["post"])
    def book(self, request: Request, pk=None) -> Response:
        handover = selectors.owner_handover_get(owner=self.owner, handover_id=pk)
        params = OwnerBookSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        care.handover_book(actor=self.owner.user, handover_id=handover.pk,
                           slot_id=params.validated_data["slot"])
        return Response(OwnerHandoverSerializer(
            selectors.owner_handover_get(owner=self.owner, handover_id=pk)).data)


def register(router: BaseRouter) -> None:
    router.register("portal/units", OwnerUnitViewSet, basename="portal-unit")
    router.register("portal/tickets", OwnerTicketViewSet, basename="portal-ticket")
    router.register("portal/surveys", OwnerSurveyViewSet, basename="portal-survey")
    router.register("portal/handovers", OwnerHandoverViewSet, basename="portal-handover")
