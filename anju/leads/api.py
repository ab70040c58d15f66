"""The leads REST API under `/api/v1/`.

- `lead-capture/` (POST): an outside source posts a lead with its key in the
  `X-Lead-Source-Key` header. The fields are checked at once (400 naming them); the lead is
  then made by the background worker (`intake.py`): the answer is 202 `queued` with a
  `receipt`, or already 201 (a new lead) / 200 (added to the person's open lead) when the
  worker was faster. `GET lead-capture/<receipt>/` tells what became of it. An
  `Idempotency-Key` header makes a retry return the first answer (`Idempotent-Replayed:
  true`); a different body under the same key is a 422.
- `leads/`: the scoped queue (`view=mine|team`, `status`, `project`, `grade`), a lead with its
  events, capture by staff (POST), and the actions `contact`, `visit`, `invalidate`, `lose`,
  `convert`, `grade-override`, `reassign`, `note`. No DELETE: invalid leads stay, with reason.
- `lead-channels/`, `lead-channel-costs/`, `lead-sources/` (the key is in the create answer
  only), `lead-duty-rosters/`, `lead-assignment-rules/`, `lead-grading-rules/`,
  `lead-imports/` (xlsx upload), `lead-reports/`.
- `agencies/`, `agency-registrations/` (agents register and see only their own, masked;
  staff confirm visits, managers review and read the "who was first" trail),
  `agency-commissions/`.

Phones always leave masked (reveal through the kernel's sensitive-data endpoint)."""

import datetime
import hashlib

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.throttling import SimpleRateThrottle

from anju.accounts.models import Company, Project, Team, User
from anju.core.api.base import AnjuGenericViewSet, ScopedGenericViewSet
from anju.core.api.errors import Unprocessable
from anju.core.masking import mask_phone

from . import agency, importing, intake, reports, selectors, services
from .models import (
    Agency,
    AgencyCommission,
    AssignmentRule,
    Channel,
    ChannelCost,
    DutyRoster,
    DutyRosterEntry,
    Grade,
    GradingRule,
    Lead,
    LeadEvent,
    LeadImport,
    LeadPolicy,
    LeadSource,
    Registration,
    Timing,
)
from .models_intake import LeadIntake

SOURCE_KEY_HEADER = "X-Lead-Source-Key"


# --- serializers ----------------------------------------------------------------------------

class MaskedPhoneField(serializers.CharField):
    def to_representation(self, value):
        return mask_phone(value)


class LeadEventSerializer(serializers.ModelSerializer):
    actor = serializers.StringRelatedField()

    class Meta:
        model = LeadEvent
        fields = ["kind", "at", "actor", "detail"]


class LeadSerializer(serializers.ModelSerializer):
    phone = MaskedPhoneField(read_only=True)
    project_name = serializers.CharField(source="project.name", read_only=True)
    channel_name = serializers.CharField(source="channel.name", read_only=True, default=None)
    assigned_to_name = serializers.StringRelatedField(source="assigned_to", read_only=True)
    grade_in_force = serializers.CharField(read_only=True)

    class Meta:
        model = Lead
        fields = ["id", "name", "phone", "project", "project_name", "channel", "channel_name",
                  "method", "status", "invalid_reason", "lost_reason", "grade",
                  "grade_reason", "grade_override", "grade_override_reason", "grade_in_force",
                  "assigned_to", "assigned_to_name", "assigned_at", "first_contacted_at",
                  "first_response_seconds", "visits", "escalated_at", "customer",
                  "known_customer", "registration", "referrer_customer", "referrer_user",
                  "budget_wan", "timing", "unit_type", "notes", "created_at", "converted_at"]
        read_only_fields = fields


class LeadDetailSerializer(LeadSerializer):
    events = LeadEventSerializer(many=True, read_only=True)

    class Meta(LeadSerializer.Meta):
        fields = [*LeadSerializer.Meta.fields, "events"]
        read_only_fields = fields


class CaptureSerializer(serializers.Serializer):
    """What a capture takes; the service checks the values (so errors name these fields)."""

    name = serializers.CharField(max_length=200, allow_blank=True, trim_whitespace=False)
    phone = serializers.CharField(max_length=200, allow_blank=True)
    budget_wan = serializers.CharField(max_length=30, required=False, allow_blank=True,
                                       allow_null=True)
    timing = serializers.ChoiceField(choices=Timing.choices, required=False, allow_blank=True)
    unit_type = serializers.CharField(max_length=200, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class StaffCaptureSerializer(CaptureSerializer):
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.all())
    channel = serializers.PrimaryKeyRelatedField(queryset=Channel.objects.all(),
                                                 required=False, allow_null=True)
    referrer_customer = serializers.IntegerField(required=False, allow_null=True)
    referrer_user = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(),
                                                       required=False, allow_null=True)


class LeadReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, allow_blank=True)


class LeadNoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=500, allow_blank=True)


class LeadGradeOverrideSerializer(serializers.Serializer):
    grade = serializers.ChoiceField(choices=Grade.choices)
    reason = serializers.CharField(max_length=500, allow_blank=True)


class LeadReassignSerializer(serializers.Serializer):
    consultant = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class ChannelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Channel
        fields = ["id", "name", "code", "kind", "parent", "is_active"]
        read_only_fields = ["id", "is_active"]


class ChannelCostSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChannelCost
        fields = ["id", "channel", "project", "period_start", "period_end", "amount", "note"]
        read_only_fields = ["id"]


class LeadSourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadSource
        fields = ["id", "name", "channel", "project", "key_prefix", "is_active", "last_used_at"]
        read_only_fields = ["id", "key_prefix", "is_active", "last_used_at"]


class AgencySerializer(serializers.ModelSerializer):
    agent_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Agency
        fields = ["id", "name", "company", "contact_consultant", "channel", "commission_rate",
                  "is_active", "agent_count"]
        read_only_fields = fields


class RegistrationSerializer(serializers.ModelSerializer):
    phone = serializers.CharField(source="claim_key", read_only=True)
    agency_name = serializers.SerializerMethodField()
    project_name = serializers.CharField(source="project.name", read_only=True)
    message = serializers.SerializerMethodField()

    class Meta:
        model = Registration
        fields = ["id", "agency", "agency_name", "project", "project_name", "customer_name",
                  "phone", "status", "reason", "message", "created_at", "decided_at",
                  "visit_deadline", "protected_until", "visited_at"]
        read_only_fields = fields

    def get_agency_name(self, obj) -> str:
        return obj.agency.name

    def get_message(self, obj) -> str:
        return agency.rejection_message(obj) if obj.status == Registration.Status.REJECTED \
            else ""


class RegistrationCreateSerializer(serializers.Serializer):
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.all())
    customer_name = serializers.CharField(max_length=200, allow_blank=True)
    phone = serializers.CharField(max_length=200, allow_blank=True)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class RegistrationReviewSerializer(serializers.Serializer):
    accept = serializers.BooleanField()
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class AgencyCommissionSerializer(serializers.ModelSerializer):
    agency_name = serializers.CharField(source="agency.name", read_only=True)

    class Meta:
        model = AgencyCommission
        fields = ["id", "agency", "agency_name", "project", "deal_reference", "deal_amount",
                  "rate", "amount", "signed_at", "status"]
        read_only_fields = fields


class DutyRosterEntrySerializer(serializers.ModelSerializer):
    consultant_name = serializers.StringRelatedField(source="consultant")

    class Meta:
        model = DutyRosterEntry
        fields = ["consultant", "consultant_name", "position", "absent"]


class RosterSerializer(serializers.ModelSerializer):
    entries = DutyRosterEntrySerializer(many=True, read_only=True)

    class Meta:
        model = DutyRoster
        fields = ["id", "project", "date", "entries"]
        read_only_fields = fields


class DutyRosterWriteSerializer(serializers.Serializer):
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.all())
    date = serializers.DateField(required=False)
    consultants = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), many=True)
    absent = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), many=True,
                                                required=False)


class AssignmentRuleSerializer(serializers.ModelSerializer):
    consultants = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), many=True,
                                                     required=False)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False,
                                              allow_null=True)

    class Meta:
        model = AssignmentRule
        fields = ["id", "project", "order", "channel", "grade", "team", "consultants",
                  "is_active"]
        read_only_fields = ["id", "is_active"]


class GradingRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = GradingRule
        fields = ["id", "project", "order", "field", "op", "value", "points", "disqualifies",
                  "label_met", "label_unmet", "is_active"]
        read_only_fields = ["id", "is_active"]


class LeadImportSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadImport
        fields = ["id", "project", "channel", "original_name", "created_at", "status",
                  "total_rows", "total", "created", "known", "rejected", "rejected_rows",
                  "error", "started_at", "finished_at"]
        read_only_fields = fields


class LeadImportUploadSerializer(serializers.Serializer):
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.all())
    channel = serializers.PrimaryKeyRelatedField(queryset=Channel.objects.all(),
                                                 required=False, allow_null=True)
    file = serializers.FileField()


# --- the outside sources' door --------------------------------------------------------------

class SourceKeyThrottle(SimpleRateThrottle):
    """Per source key (or address without one): a flood from one form cannot crowd others."""

    scope = "lead_source"

    def get_rate(self) -> str:
        # well above the capture target (300 leads/s); settings may lower it
        return getattr(settings, "ANJU_LEAD_SOURCE_RATE", "1000/s")

    def get_cache_key(self, request, view):
        key = request.headers.get(SOURCE_KEY_HEADER) or self.get_ident(request)
        return self.cache_format % {"scope": self.scope,
                                    "ident": hashlib.sha256(key.encode()).hexdigest()[:32]}


class CaptureAnswerSerializer(serializers.Serializer):
    """What a source learns: its receipt, where the lead stands, and nothing of the ledger or
    the consultant."""

    receipt = serializers.IntegerField()
    id = serializers.IntegerField(allow_null=True, help_text=_("the lead, once made"))
    status = serializers.ChoiceField(choices=["queued", "received", "rejected"])
    duplicate = serializers.BooleanField(allow_null=True)
    errors = serializers.CharField(required=False)


class LeadCaptureViewSet(AnjuGenericViewSet):
    """POST a lead with a source's key; GET its receipt; see the module's documentation."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [SourceKeyThrottle]
    serializer_class = CaptureSerializer

    def get_queryset(self):
        return Lead.objects.none()

    def _source(self, request: Request) -> LeadSource:
        source = services.lead_source_for_key(request.headers.get(SOURCE_KEY_HEADER, ""))
        if source is None:
            raise AuthenticationFailed(_("Send a valid lead source key in the %(header)s "
                                         "header.") % {"header": SOURCE_KEY_HEADER})
        return source

    @extend_schema(request=CaptureSerializer, responses={201: CaptureAnswerSerializer,
                                                         200: CaptureAnswerSerializer,
                                                         202: CaptureAnswerSerializer},
                   parameters=[OpenApiParameter(SOURCE_KEY_HEADER, OpenApiTypes.STR,
                                                OpenApiParameter.HEADER, required=True),
                               OpenApiParameter("Idempotency-Key", OpenApiTypes.STR,
                                                OpenApiParameter.HEADER)])
    def create(self, request: Request) -> Response:
        source = self._source(request)
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if len(key) > 100:
            raise serializers.ValidationError({"Idempotency-Key": [
                _("Send a key of 1 to %(max)d characters.") % {"max": 100}]})
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"non_field_errors": [
                _("Send one lead as a JSON object.")]})
        # The intake checks every field itself and names those at fault (no serializer
        # pass first: this is the busiest door of the API).
        try:
            row, replayed = intake.intake_receive(source=source, data=request.data,
                                                  idempotency_key=key)
        except intake.IntakeKeyReused:
            raise Unprocessable(_("This Idempotency-Key was already used for a different "
                                  "request. Use a new key for a new request.")) from None
        if intake.runs_inline():  # the worker ran inside this request: tell its outcome
            row.refresh_from_db(fields=["state", "lead", "duplicate", "error"])
        response = _intake_answer(row)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    @extend_schema(responses={200: CaptureAnswerSerializer},
                   parameters=[OpenApiParameter(SOURCE_KEY_HEADER, OpenApiTypes.STR,
                                                OpenApiParameter.HEADER, required=True)])
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        """What became of a posted lead (its receipt is the `receipt` of the POST's answer);
        a source sees only its own receipts."""
        source = self._source(request)
        row = (LeadIntake.objects.filter(source=source, pk=pk).first()
               if str(pk).isdigit() else None)
        if row is None:
            raise NotFound(_("No lead was received from this source under that receipt."))
        answer = _intake_answer(row)
        answer.status_code = status.HTTP_200_OK
        return answer


def _intake_answer(row: LeadIntake) -> Response:
    """202 while the lead waits for the worker; 201 made, 200 when it added to an open lead
    of the same person; 422 refused by a rule found only then (a channel switched off)."""
    answer = {"receipt": row.pk, "id": row.lead_id, "duplicate": row.duplicate}
    if row.state == LeadIntake.State.PENDING:
        return Response({**answer, "status": "queued"}, status=status.HTTP_202_ACCEPTED)
    if row.state == LeadIntake.State.REJECTED:
        return Response({**answer, "status": "rejected", "errors": row.error},
                        status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    return Response({**answer, "status": "received"},
                    status=status.HTTP_200_OK if row.duplicate else status.HTTP_201_CREATED)


# --- staff endpoints ------------------------------------------------------------------------

class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedGenericViewSet):
    model = Lead
    serializer_class = LeadSerializer

    def scope_queryset(self, qs):
        qs = qs.select_related("project", "channel", "assigned_to")
        if self.action == "retrieve":
            return qs.prefetch_related(Prefetch("events", queryset=LeadEvent.objects
                                                .select_related("actor").order_by("at", "id")))
        if getattr(self, "swagger_fake_view", False):
            return qs
        params = self.request.query_params
        if params.get("view") != "team":
            qs = qs.filter(assigned_to=self.request.user)
        status_ = params.get("status", "")
        if status_ in Lead.Status.values:
            qs = qs.filter(status=status_)
        elif status_ != "all":
            qs = qs.filter(status__in=Lead.OPEN)
        if (project := params.get("project", "")).isdigit():
            qs = qs.filter(project_id=int(project))
        if (grade := params.get("grade", "")) in Grade.values:
            qs = qs.filter(grade=grade)
        return qs

    def get_serializer_class(self):
        return LeadDetailSerializer if self.action == "retrieve" else LeadSerializer

    @extend_schema(request=StaffCaptureSerializer, responses={201: LeadSerializer})
    def create(self, request: Request) -> Response:
        body = StaffCaptureSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        referrer_id = data.pop("referrer_customer", None)
        referrer = None
        if referrer_id:
            from anju.customers.models import Customer

            referrer = Customer.objects.filter(pk=referrer_id).first()
            if referrer is None:
                raise ValidationError({"referrer_customer": _("No such customer.")})
        result = services.lead_capture(actor=request.user, method=Lead.Method.API,
                                       referrer_customer=referrer, **data)
        lead = result.lead
        visible = Lead.objects.visible_to(request.user).filter(pk=lead.pk).exists()
        payload = LeadSerializer(lead).data if visible else {"id": lead.pk}
        payload = {**payload, "duplicate": result.duplicate,
                   "known_customer": result.known_customer}
        return Response(payload, status=201 if result.created else 200)

    def _act(self, function, serializer_class=None, **extra):
        lead = self.get_object()
        kwargs = dict(extra)
        if serializer_class is not None:
            body = serializer_class(data=self.request.data)
            body.is_valid(raise_exception=True)
            kwargs.update(body.validated_data)
        function(actor=self.request.user, lead=lead, **kwargs)
        fresh = self.get_queryset().filter(pk=lead.pk).first() or lead
        return Response(LeadSerializer(fresh).data)

    @extend_schema(request=None, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def contact(self, request, pk=None):
        return self._act(services.lead_contact)

    @extend_schema(request=None, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def visit(self, request, pk=None):
        return self._act(services.lead_visit)

    @extend_schema(request=LeadReasonSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def invalidate(self, request, pk=None):
        return self._act(services.lead_invalidate, LeadReasonSerializer)

    @extend_schema(request=LeadReasonSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def lose(self, request, pk=None):
        return self._act(services.lead_lose, LeadReasonSerializer)

    @extend_schema(request=None, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def convert(self, request, pk=None):
        return self._act(services.lead_convert)

    @extend_schema(request=LeadGradeOverrideSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], url_path="grade-override")
    def grade_override(self, request, pk=None):
        return self._act(services.lead_grade_override, LeadGradeOverrideSerializer)

    @extend_schema(request=LeadReassignSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        return self._act(services.lead_reassign, LeadReassignSerializer)

    @extend_schema(request=LeadNoteSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def note(self, request, pk=None):
        return self._act(services.lead_note, LeadNoteSerializer)


class ChannelViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, AnjuGenericViewSet):
    serializer_class = ChannelSerializer

    def get_queryset(self):
        return Channel.objects.order_by("code")

    def perform_create(self, serializer):
        serializer.instance = services.channel_create(actor=self.request.user,
                                                      **serializer.validated_data)


class ChannelCostViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, ScopedGenericViewSet):
    model = ChannelCost
    serializer_class = ChannelCostSerializer

    def perform_create(self, serializer):
        serializer.instance = services.channel_cost_add(actor=self.request.user,
                                                        **serializer.validated_data)


class LeadSourceViewSet(mixins.ListModelMixin, ScopedGenericViewSet):
    model = LeadSource
    serializer_class = LeadSourceSerializer

    @extend_schema(request=LeadSourceSerializer, responses={201: OpenApiTypes.OBJECT})
    def create(self, request: Request) -> Response:
        body = LeadSourceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        source, key = services.lead_source_create(actor=request.user, **body.validated_data)
        return Response({**LeadSourceSerializer(source).data, "key": key}, status=201)


class AgencyWriteSerializer(serializers.Serializer):
    company = serializers.PrimaryKeyRelatedField(queryset=Company.objects.all())
    name = serializers.CharField(max_length=200, allow_blank=True)
    contact_consultant = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True)
    channel = serializers.PrimaryKeyRelatedField(queryset=Channel.objects.all(),
                                                 required=False, allow_null=True)
    commission_rate = serializers.CharField(max_length=20, required=False, allow_blank=True)


class AgencyAgentSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())


class AgencyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedGenericViewSet):
    model = Agency
    serializer_class = AgencySerializer

    def scope_queryset(self, qs):
        from django.db.models import Count

        return qs.annotate(agent_count=Count("agents", distinct=True))

    @extend_schema(request=AgencyWriteSerializer, responses={201: AgencySerializer})
    def create(self, request: Request) -> Response:
        body = AgencyWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        made = agency.agency_create(actor=request.user, **body.validated_data)
        return Response(AgencySerializer(self.get_queryset().get(pk=made.pk)).data,
                        status=201)

    @extend_schema(request=AgencyAgentSerializer, responses={201: AgencySerializer})
    @action(detail=True, methods=["post"])
    def agents(self, request, pk=None):
        current = self.get_object()
        body = AgencyAgentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        agency.agency_agent_add(actor=request.user, agency=current,
                                user=body.validated_data["user"])
        return Response(AgencySerializer(self.get_queryset().get(pk=current.pk)).data,
                        status=201)


class LeadPolicySerializer(serializers.ModelSerializer):
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.all(), required=False,
                                                 allow_null=True)

    class Meta:
        model = LeadPolicy
        fields = ["id", "project", "protection_days", "visit_window_days",
                  "escalation_minutes", "review_registrations", "grade_a_min", "grade_b_min",
                  "commission_rate"]
        read_only_fields = ["id"]


class LeadPolicyViewSet(mixins.ListModelMixin, AnjuGenericViewSet):
    """The default policy and those of the projects the user sees; POST sets one."""

    serializer_class = LeadPolicySerializer

    def get_queryset(self):
        from django.db.models import Q

        projects = Project.objects.visible_to(self.request.user).values("id")
        return LeadPolicy.objects.filter(Q(project__isnull=True) | Q(project__in=projects)
                                         ).order_by("id")

    @extend_schema(request=LeadPolicySerializer, responses={200: LeadPolicySerializer})
    def create(self, request: Request) -> Response:
        body = LeadPolicySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        project = data.pop("project", None)
        policy = services.policy_set(actor=request.user, project=project, **data)
        return Response(LeadPolicySerializer(policy).data)


class RegistrationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          ScopedGenericViewSet):
    model = Registration
    serializer_class = RegistrationSerializer

    def scope_queryset(self, qs):
        qs = qs.select_related("agency", "project", "conflict_with")
        status_ = self.request.query_params.get("status", "")
        return qs.filter(status=status_) if status_ in Registration.Status.values else qs

    @extend_schema(request=RegistrationCreateSerializer, responses={201: RegistrationSerializer})
    def create(self, request: Request) -> Response:
        body = RegistrationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        answer = agency.registration_submit(actor=request.user, **body.validated_data)
        return Response(RegistrationSerializer(answer).data, status=201)

    @extend_schema(request=None, responses=RegistrationSerializer)
    @action(detail=True, methods=["post"], url_path="confirm-visit")
    def confirm_visit(self, request, pk=None):
        current = self.get_object()
        done = agency.registration_confirm_visit(actor=request.user, registration=current)
        return Response(RegistrationSerializer(done).data)

    @extend_schema(request=RegistrationReviewSerializer, responses=RegistrationSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        current = self.get_object()
        body = RegistrationReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        done = agency.registration_review(actor=request.user, registration=current,
                                          **body.validated_data)
        return Response(RegistrationSerializer(done).data)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def trail(self, request, pk=None):
        current = self.get_object()
        rows = agency.registration_trail(viewer=request.user, project_id=current.project_id,
                                         claim_key=current.claim_key)
        return Response({"claim": current.claim_key, "registrations": [
            {"id": r.pk, "agency": r.agency.name, "agent": str(r.agent),
             "created_at": r.created_at, "status": r.status, "reason": r.reason,
             "events": [{"kind": e.kind, "at": e.at, "detail": e.detail}
                        for e in r.events.all()]} for r in rows]})


class CommissionViewSet(mixins.ListModelMixin, ScopedGenericViewSet):
    model = AgencyCommission
    serializer_class = AgencyCommissionSerializer

    def scope_queryset(self, qs):
        return qs.select_related("agency")


class RosterViewSet(mixins.ListModelMixin, ScopedGenericViewSet):
    model = DutyRoster
    serializer_class = RosterSerializer

    def scope_queryset(self, qs):
        day = parse_date(self.request.query_params.get("date", "")) or timezone.localdate()
        return qs.filter(date=day).prefetch_related(Prefetch(
            "entries", queryset=DutyRosterEntry.objects.select_related("consultant")))

    @extend_schema(request=DutyRosterWriteSerializer, responses={201: RosterSerializer})
    def create(self, request: Request) -> Response:
        body = DutyRosterWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        roster = services.roster_set(actor=request.user, project=data["project"],
                                     date=data.get("date") or services.today_local(),
                                     consultants=data["consultants"],
                                     absent=data.get("absent", []))
        fresh = DutyRoster.objects.prefetch_related("entries__consultant").get(pk=roster.pk)
        return Response(RosterSerializer(fresh).data, status=201)


class AssignmentRuleViewSet(mixins.ListModelMixin, mixins.CreateModelMixin,
                            ScopedGenericViewSet):
    model = AssignmentRule
    serializer_class = AssignmentRuleSerializer

    def scope_queryset(self, qs):
        return qs.prefetch_related("consultants")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("is_active", None)
        serializer.instance = services.assignment_rule_create(actor=self.request.user, **data)


class GradingRuleViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, AnjuGenericViewSet):
    serializer_class = GradingRuleSerializer

    def get_queryset(self):
        return selectors.grading_rules(user=self.request.user).order_by("order", "id")

    def perform_create(self, serializer):
        serializer.instance = services.grading_rule_create(actor=self.request.user,
                                                           **serializer.validated_data)


class LeadImportViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, ScopedGenericViewSet):
    model = LeadImport
    serializer_class = LeadImportSerializer
    parser_classes = [MultiPartParser]

    @extend_schema(request=LeadImportUploadSerializer,
                   responses={201: LeadImportSerializer, 202: LeadImportSerializer})
    def create(self, request: Request) -> Response:
        """202 while the sheet waits for the worker (follow it with GET `lead-imports/<id>/`
        until `status` is done or failed); 201 when it was worked within the request."""
        body = LeadImportUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = importing.lead_import_run(actor=request.user,
                                        project=body.validated_data["project"],
                                        channel=body.validated_data.get("channel"),
                                        upload=body.validated_data["file"])
        job.refresh_from_db()
        return Response(LeadImportSerializer(job).data,
                        status=202 if job.in_progress else 201)


class LeadReportViewSet(AnjuGenericViewSet):
    """`?dimension=channel|agency|project|consultant&date_from=&date_to=`."""

    serializer_class = serializers.Serializer

    def get_queryset(self):
        return Lead.objects.none()

    @extend_schema(responses=OpenApiTypes.OBJECT, parameters=[
        OpenApiParameter("dimension", OpenApiTypes.STR),
        OpenApiParameter("date_from", OpenApiTypes.DATE),
        OpenApiParameter("date_to", OpenApiTypes.DATE)])
    def list(self, request: Request) -> Response:
        role = getattr(request.user, "role", None)
        if role is not None and role.code == "channel_agent":
            raise PermissionDenied
        params = request.query_params
        dimension = params.get("dimension", "channel")
        if dimension not in reports.DIMENSIONS:
            raise ValidationError({"dimension": _("Select a valid choice.")})
        date_to = parse_date(params.get("date_to", "") or "") or timezone.localdate()
        date_from = parse_date(params.get("date_from", "") or "") or (
            date_to - datetime.timedelta(days=29))
        if date_from > date_to:
            raise ValidationError({"date_from": _("The period ends before it starts.")})
        report = reports.lead_report(user=request.user, dimension=dimension,
                                     date_from=date_from, date_to=date_to)
        return Response({"dimension": dimension, "date_from": date_from,
                         "date_to": date_to, "rows": [r.as_dict() for r in report.rows],
                         "total": report.total.as_dict(), "days": report.days})


def register_source_door(router: DefaultRouter) -> None:
    """The outside sources' door, registered before every other resource: it takes the
    heaviest traffic, and the resolver tries the patterns in order."""
    router.register("lead-capture", LeadCaptureViewSet, basename="lead-capture")


def register(router: DefaultRouter) -> None:
    router.register("leads", LeadViewSet, basename="lead")
    router.register("lead-channels", ChannelViewSet, basename="lead-channel")
    router.register("lead-channel-costs", ChannelCostViewSet, basename="lead-channel-cost")
    router.register("lead-sources", LeadSourceViewSet, basename="lead-source")
    router.register("lead-duty-rosters", RosterViewSet, basename="lead-duty-roster")
    router.register("lead-assignment-rules", AssignmentRuleViewSet,
                    basename="lead-assignment-rule")
    router.register("lead-grading-rules", GradingRuleViewSet, basename="lead-grading-rule")
    router.register("lead-imports", LeadImportViewSet, basename="lead-import")
    router.register("lead-reports", LeadReportViewSet, basename="lead-report")
    router.register("lead-policies", LeadPolicyViewSet, basename="lead-policy")
    router.register("agencies", AgencyViewSet, basename="agency")
    router.register("agency-registrations", RegistrationViewSet,
                    basename="agency-registration")
    router.register("agency-commissions", CommissionViewSet, basename="agency-commission")
