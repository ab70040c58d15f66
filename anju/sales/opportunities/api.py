"""The opportunities API under `/api/v1/`: opportunities (list with filters, create, retrieve,
PATCH with version, move, history, matching units), the funnel, unit matches for a customer,
quotes (create, approve, reject, PDF), discount policies and win probabilities.

Thin: rows come from `visible_to(user)` (the scoped base viewsets) or the selectors, writes
from `services`; writes accept an `Idempotency-Key`. Out of scope is a 404."""

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from anju.accounts.models import Company, Role, User
from anju.core.api.base import (
    AnjuGenericViewSet,
    ScopedGenericViewSet,
    VersionedSerializerMixin,
)
from anju.core.api.pagination import AnjuCursorPagination
from anju.core.money import amount_in_words, format_wan, format_yuan
from anju.core.pdf import render_pdf
from anju.customers.models import Customer
from anju.sales.models.opportunities import (
    DiscountPolicy,
    LostReason,
    Opportunity,
    OpportunityStage,
    OpportunityStageChange,
    PaymentMethod,
    Quote,
    QuoteDiscount,
    StageProbability,
)

from . import selectors, services


# --- serializers ------------------------------------------------------------------------------
class OpportunitySerializer(VersionedSerializerMixin, serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    project_name = serializers.CharField(source="project.name", read_only=True)
    owner_name = serializers.SerializerMethodField()
    stage_label = serializers.CharField(source="get_stage_display", read_only=True)

    class Meta:
        model = Opportunity
        fields = ["id", "customer", "customer_name", "project", "project_name", "owner",
                  "owner_name", "stage", "stage_label", "stage_entered_at", "expected_value",
                  "expected_close_date", "lost_reason", "lost_note", "closed_at", "created_at",
                  "version"]
        read_only_fields = ["customer", "project", "stage", "stage_entered_at", "lost_reason",
                            "lost_note", "closed_at", "created_at"]

    def get_owner_name(self, row: Opportunity) -> str:
        return str(row.owner) if row.owner_id else ""


class OpportunityCreateSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    project = serializers.IntegerField()
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False,
                                               allow_null=True)
    stage = serializers.ChoiceField(choices=OpportunityStage.choices, default="first_visit")
    expected_value = serializers.DecimalField(max_digits=14, decimal_places=2, required=False,
                                              allow_null=True)
    expected_close_date = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class MoveSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=OpportunityStage.choices)
    lost_reason = serializers.ChoiceField(choices=LostReason.choices, required=False,
                                          allow_blank=True)
    lost_note = serializers.CharField(required=False, allow_blank=True, max_length=500)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class StageChangeSerializer(serializers.ModelSerializer):
    changed_by_name = serializers.SerializerMethodField()

    class Meta:
        model = OpportunityStageChange
        fields = ["id", "from_stage", "to_stage", "changed_by", "changed_by_name", "changed_at",
                  "seconds_in_from_stage", "note"]

    def get_changed_by_name(self, row) -> str:
        return str(row.changed_by) if row.changed_by_id else ""


class ReasonSerializer(serializers.Serializer):
    kind = serializers.CharField()
    fit = serializers.CharField()
    text = serializers.CharField()


class UnitMatchSerializer(serializers.Serializer):
    unit = serializers.IntegerField(source="unit.pk")
    label = serializers.CharField(source="unit.label")
    project = serializers.CharField(source="unit.building.project.name")
    unit_type = serializers.SerializerMethodField()
    built_area = serializers.DecimalField(source="unit.built_area", max_digits=9,
                                          decimal_places=2)
    list_price = serializers.DecimalField(source="unit.list_price", max_digits=14,
                                          decimal_places=2)
    price_wan = serializers.CharField()
    score = serializers.IntegerField()
    reasons = ReasonSerializer(many=True)

    def get_unit_type(self, match) -> str:
        return match.unit.unit_type.name if match.unit.unit_type_id else ""


class FunnelQuerySerializer(serializers.Serializer):
    owner = serializers.IntegerField(required=False)
    team = serializers.IntegerField(required=False)
    project = serializers.IntegerField(required=False)
    date_from = serializers.DateField(required=False, input_formats=["%Y-%m-%d", "%Y-%m"])
    date_to = serializers.DateField(required=False, input_formats=["%Y-%m-%d", "%Y-%m"])


class FunnelStageSerializer(serializers.Serializer):
    stage = serializers.CharField()
    label = serializers.CharField()
    reached = serializers.IntegerField()
    current = serializers.IntegerField()
    conversion = serializers.FloatField(allow_null=True)
    avg_days = serializers.FloatField(allow_null=True)
    median_days = serializers.FloatField(allow_null=True)
    stays = serializers.IntegerField()


class FunnelSerializer(serializers.Serializer):
    stages = FunnelStageSerializer(many=True)
    opened = serializers.IntegerField()
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True)
    month_from = serializers.DateField(allow_null=True)
    month_to = serializers.DateField(allow_null=True)


class QuoteDiscountSerializer(serializers.ModelSerializer):
    class Meta:
        model = QuoteDiscount
        fields = ["label", "percent", "amount"]
        extra_kwargs = {"percent": {"required": False, "allow_null": True},
                        "amount": {"required": False, "allow_null": True}}


class QuoteSerializer(serializers.ModelSerializer):
    discounts = QuoteDiscountSerializer(many=True, read_only=True)
    unit_label = serializers.CharField(source="unit.label", read_only=True)
    final_price_wan = serializers.SerializerMethodField()
    final_price_in_words = serializers.SerializerMethodField()

    class Meta:
        model = Quote
        fields = ["id", "number", "opportunity", "unit", "unit_label", "payment_method",
                  "list_price", "discounts", "discount_amount", "discount_percent",
                  "final_price", "final_price_wan", "final_price_in_words", "allowed_percent",
                  "below_floor_price", "status", "valid_until", "note", "created_by",
                  "created_at", "decided_by", "decided_at", "decision_comment"]
        read_only_fields = fields

    def get_final_price_wan(self, quote) -> str:
        return format_wan(quote.final_price)

    def get_final_price_in_words(self, quote) -> str:
        return amount_in_words(quote.final_price)


class QuoteCreateSerializer(serializers.Serializer):
    opportunity = serializers.IntegerField()
    unit = serializers.IntegerField()
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)
    discounts = QuoteDiscountSerializer(many=True, required=False)
    valid_until = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class DecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=500)


class DiscountPolicySerializer(serializers.ModelSerializer):
    role = serializers.SlugRelatedField(slug_field="code", queryset=Role.objects.all())

    class Meta:
        model = DiscountPolicy
        fields = ["id", "role", "payment_method", "max_discount_percent"]
        extra_kwargs = {"payment_method": {"required": False}}
        validators: list = []  # the service upserts on (role, payment method)


class StageProbabilitySerializer(serializers.ModelSerializer):
    company = serializers.PrimaryKeyRelatedField(queryset=Company.objects.all(),
                                                 required=False, allow_null=True)

    class Meta:
        model = StageProbability
        fields = ["id", "company", "stage", "probability"]
        validators: list = []  # the service upserts on (company, stage)


# --- viewsets ----------------------------------------------------------------------------------
class OpportunityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         mixins.CreateModelMixin, mixins.UpdateModelMixin,
                         ScopedGenericViewSet):
    """Opportunities in the caller's scope. Filters: `stage`, `owner`, `team`, `project`,
    `customer`, `open=1`; keyset pages (`cursor`)."""

    model = Opportunity
    serializer_class = OpportunitySerializer
    pagination_class = AnjuCursorPagination

    def scope_queryset(self, qs):
        rows = qs.select_related("customer", "project", "owner")
        if self.action == "list":
            params = self.request.query_params
            filters = {key: params.get(key) for key in selectors.FILTER_KEYS if params.get(key)}
            keep = selectors.opportunities_filtered(self.request.user, filters).values("id")
            rows = rows.filter(id__in=keep)
        return rows

    @extend_schema(request=OpportunityCreateSerializer, responses={201: OpportunitySerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        body = OpportunityCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        opportunity = services.opportunity_create(actor=request.user, **body.validated_data)
        fresh = self.get_queryset().get(pk=opportunity.pk)
        return Response(OpportunitySerializer(fresh).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer) -> None:
        version = self.expected_version(serializer)
        changes = {key: value for key, value in serializer.validated_data.items()
                   if key in services.UPDATABLE}
        updated = services.opportunity_update(actor=self.request.user,
                                              opportunity=serializer.instance,
                                              expected_version=version, **changes)
        serializer.instance = self.get_queryset().get(pk=updated.pk)

    @extend_schema(request=MoveSerializer, responses=OpportunitySerializer)
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk=None) -> Response:
        """Moves to another stage; a move the rules refuse is a 400 whose `fields.stage`
        says why (nothing changes). Lost needs `lost_reason`."""
        opportunity = self.get_object()
        body = MoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        services.opportunity_move(actor=request.user, opportunity=opportunity,
                                  to_stage=data["stage"],
                                  lost_reason=data.get("lost_reason", ""),
                                  lost_note=data.get("lost_note", ""),
                                  note=data.get("note", ""))
        return Response(OpportunitySerializer(self.get_queryset().get(pk=opportunity.pk)).data)

    @extend_schema(responses=StageChangeSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def history(self, request: Request, pk=None) -> Response:
        """The stage changes, oldest first, with the time spent in the stage left."""
        opportunity = self.get_object()
        rows = opportunity.stage_changes.select_related("changed_by").order_by("changed_at",
                                                                               "id")
        return Response(StageChangeSerializer(rows, many=True).data)

    @extend_schema(responses=UnitMatchSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def matches(self, request: Request, pk=None) -> Response:
        """Available units of the opportunity's project ranked against the customer's needs."""
        opportunity = self.get_object()
        matches = selectors.customer_matches(viewer=request.user,
                                             customer_id=opportunity.customer_id,
                                             project_id=opportunity.project_id)
        return Response(UnitMatchSerializer(matches, many=True).data)

    @extend_schema(parameters=[FunnelQuerySerializer], responses=FunnelSerializer)
    @action(detail=False, methods=["get"], pagination_class=None)
    def funnel(self, request: Request) -> Response:
        """Per stage: reached, in it now, conversion to the next, average and median days in
        stage, for opportunities opened in the period (whole months)."""
        params = FunnelQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        result = selectors.funnel(viewer=request.user, filters=dict(params.validated_data))
        return Response(FunnelSerializer(result).data)


class UnitMatchQuerySerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    project = serializers.IntegerField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=50, default=10)


class UnitMatchViewSet(AnjuGenericViewSet):
    """Available units ranked against a customer's needs, with the reasons."""

    serializer_class = UnitMatchSerializer
    pagination_class = None

    def get_queryset(self):
        return Customer.objects.none()

    @extend_schema(parameters=[UnitMatchQuerySerializer],
                   responses=UnitMatchSerializer(many=True))
    def list(self, request: Request) -> Response:
        params = UnitMatchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        matches = selectors.customer_matches(viewer=request.user, customer_id=data["customer"],
                                             project_id=data.get("project"),
                                             limit=data["limit"])
        return Response(UnitMatchSerializer(matches, many=True).data)


class QuoteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                   ScopedGenericViewSet):
    """Quotes in the caller's scope (`?status=pending` lists those awaiting approval)."""

    model = Quote
    serializer_class = QuoteSerializer
    pagination_class = AnjuCursorPagination

    def scope_queryset(self, qs):
        rows = qs.select_related("unit").prefetch_related("discounts")
        status_filter = self.request.query_params.get("status")
        if self.action == "list" and status_filter in Quote.Status.values:
            rows = rows.filter(status=status_filter)
        return rows

    def _fresh(self, quote: Quote) -> dict:
        return QuoteSerializer(self.get_queryset().get(pk=quote.pk)).data

    @extend_schema(request=QuoteCreateSerializer, responses={201: QuoteSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        """Within the caller's discount limit the quote is `issued`; beyond it `pending`,
        and the users who may approve get an inbox notice."""
        body = QuoteCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        if not Opportunity.objects.visible_to(request.user).filter(
                pk=data["opportunity"]).exists():
            raise Http404
        quote = services.quote_create(actor=request.user, **data)
        return Response(self._fresh(quote), status=status.HTTP_201_CREATED)

    @extend_schema(request=DecisionSerializer, responses=QuoteSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk=None) -> Response:
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        quote = services.quote_approve(actor=request.user, quote=self.get_object(),
                                       comment=body.validated_data.get("comment", ""))
        return Response(self._fresh(quote))

    @extend_schema(request=DecisionSerializer, responses=QuoteSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk=None) -> Response:
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        quote = services.quote_reject(actor=request.user, quote=self.get_object(),
                                      comment=body.validated_data.get("comment", ""))
        return Response(self._fresh(quote))

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def pdf(self, request: Request, pk=None) -> HttpResponse:
        """The printable quote (issued quotes only)."""
        quote = selectors.quote_get(viewer=request.user, pk=self.get_object().pk)
        if quote.status != Quote.Status.ISSUED:
            raise Http404
        data = render_pdf("sales/opportunities/quote_pdf.html", {
            "quote": quote, "discounts": list(quote.discounts.all()),
            "final_yuan": format_yuan(quote.final_price),
            "final_wan": format_wan(quote.final_price),
            "final_words": amount_in_words(quote.final_price),
            "list_yuan": format_yuan(quote.list_price),
            "discount_yuan": format_yuan(quote.discount_amount)}, request=request._request)
        response = HttpResponse(data, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{quote.number}.pdf"'
        return response


class DiscountPolicyViewSet(mixins.ListModelMixin, mixins.CreateModelMixin,
                            AnjuGenericViewSet):
    """Discount limits per role and payment method; everyone reads, admins set (POST upserts
    the role × method row)."""

    serializer_class = DiscountPolicySerializer
    pagination_class = None

    def get_queryset(self):
        return DiscountPolicy.objects.select_related("role").order_by("role_id",
                                                                      "payment_method")

    def create(self, request: Request, *args, **kwargs) -> Response:
        body = DiscountPolicySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = services.discount_policy_set(actor=request.user, **body.validated_data)
        return Response(DiscountPolicySerializer(row).data, status=status.HTTP_201_CREATED)


class StageProbabilityViewSet(mixins.ListModelMixin, mixins.CreateModelMixin,
                              AnjuGenericViewSet):
    """Win probability per stage: `?company=<id>` gives that company's table in force
    (defaults, global rows, company rows); admins POST a row (upsert)."""

    serializer_class = StageProbabilitySerializer
    pagination_class = None

    def get_queryset(self):
        return StageProbability.objects.none()

    def list(self, request: Request) -> Response:
        company = request.query_params.get("company")
        company_id = None
        if company:
            company_id = (Company.objects.visible_to(request.user).filter(pk=company)
                          .values_list("id", flat=True).first()) if company.isdigit() else None
            if company_id is None:
                raise Http404
        table = services.win_probabilities(company_id=company_id)
        return Response([{"stage": stage, "probability": value}
                         for stage, value in table.items()])

    def create(self, request: Request, *args, **kwargs) -> Response:
        body = StageProbabilitySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = services.stage_probability_set(actor=request.user, **body.validated_data)
        return Response(StageProbabilitySerializer(row).data, status=status.HTTP_201_CREATED)


def register(router: BaseRouter) -> None:
    router.register("opportunities", OpportunityViewSet, basename="opportunity")
    router.register("unit-matches", UnitMatchViewSet, basename="unit-match")
    router.register("quotes", QuoteViewSet, basename="quote")
    router.register("discount-policies", DiscountPolicyViewSet, basename="discount-policy")
    router.register("stage-probabilities", StageProbabilityViewSet,
                    basename="stage-probability")

