"""The deals API: the same services as the pages, scoped, with idempotent writes.

    GET  /api/v1/deals/                      the caller's deals (filters: status, project, unit)
    GET  /api/v1/deals/{id}/                 one deal with buyers, plan, payments, timeline
    POST /api/v1/deals/hold/                 {unit, customer, hours?}
    POST /api/v1/deals/reserve/              {unit, customer, deposit, discount_amount?, ...}
    POST /api/v1/deals/{id}/reserve/         a hold becomes a reservation {deposit, ...}
    POST /api/v1/deals/{id}/contract/        {buyers: [{customer, share}], payment_method,
                                              instalments: [{kind, due_date, amount, bank?}]}
    POST /api/v1/deals/{id}/payments/        {instalment, amount, method?, paid_at?, note?}
    POST /api/v1/deals/{id}/loan/            {instalment, status, bank?}
    POST /api/v1/deals/{id}/release/         a hold let go (no approval) {reason?}
    POST /api/v1/deals/{id}/deliver/
    POST /api/v1/deals/{id}/collection/      {kind?, outcome?, next_follow_up_at?}
    POST /api/v1/deals/{id}/change-requests/ {kind, reason, refund_amount?, target_unit?}
    GET  /api/v1/deal-change-requests/       (state=pending|approved|rejected)
    POST /api/v1/deal-change-requests/{id}/decide/ {approve, comment?}

A refused move answers 409 with a stable `code`: "unit_taken" when another deal or sales
control holds the unit, "illegal_move" when the deal is not in a state for the action,
"state_changed" when someone else moved it first."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from anju.core.api.base import ScopedGenericViewSet
from anju.core.api.errors import Conflict
from anju.sales.models.deals import (
    Deal,
    DealBuyer,
    DealChangeRequest,
    DealEvent,
    DealPaymentMethod,
    DealStatus,
    Instalment,
    LoanStatus,
    Payment,
)

from . import services
from .services import DealError, InstalmentLine

MONEY = {"max_digits": 14, "decimal_places": 2}


class DealConflict(Conflict):
    default_code = "unit_taken"


class DealErrorsMixin:
    def handle_exception(self, exc):
        if isinstance(exc, DealError):
            exc = DealConflict(detail=exc.message, code=exc.code)
        return super().handle_exception(exc)


# --- read shapes ---------------------------------------------------------------------------
class BuyerSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="customer.name", read_only=True)

    class Meta:
        model = DealBuyer
        fields = ["customer", "name", "share", "is_primary"]


class InstalmentSerializer(serializers.ModelSerializer):
    outstanding = serializers.DecimalField(**MONEY, read_only=True)

    class Meta:
        model = Instalment
        fields = ["id", "sequence", "kind", "due_date", "amount", "paid_amount", "outstanding",
                  "paid_at", "bank", "loan_status", "loan_status_at"]


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "instalment", "amount", "paid_at", "method", "receipt_number", "note",
                  "created_at"]


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.StringRelatedField()

    class Meta:
        model = DealEvent
        fields = ["id", "kind", "actor", "message", "created_at"]


class DealSerializer(serializers.ModelSerializer):
    unit_label = serializers.CharField(source="unit.label", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    outstanding_amount = serializers.DecimalField(**MONEY, read_only=True)

    class Meta:
        model = Deal
        fields = ["id", "status", "unit", "unit_label", "project", "customer", "customer_name",
                  "consultant", "list_price", "discount_amount", "final_price", "deposit",
                  "received_amount", "outstanding_amount", "refunded_amount", "payment_method",
                  "hold_expires_at", "reserved_at", "reservation_expires_at",
                  "contract_number", "contracted_at", "delivered_at", "closed_at",
                  "close_reason", "swapped_from", "version", "created_at"]


class DealDetailSerializer(DealSerializer):
    buyers = BuyerSerializer(many=True, read_only=True)
    instalments = InstalmentSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)
    events = EventSerializer(many=True, read_only=True)

    class Meta(DealSerializer.Meta):
        fields = [*DealSerializer.Meta.fields, "buyers", "instalments", "payments", "events"]


class ChangeRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = DealChangeRequest
        fields = ["id", "deal", "kind", "reason", "refund_amount", "target_unit", "state",
                  "requested_by", "requested_at", "decided_by", "decided_at", "comment",
                  "new_deal"]


# --- write shapes -------------------------------------------------------------------------
class HoldSerializer(serializers.Serializer):
    unit = serializers.IntegerField(min_value=1)
    customer = serializers.IntegerField(min_value=1)
    hours = serializers.IntegerField(min_value=1, max_value=72, required=False)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ReserveSerializer(serializers.Serializer):
    deposit = serializers.DecimalField(**MONEY, min_value=0)
    discount_amount = serializers.DecimalField(**MONEY, min_value=0, required=False)
    discount_note = serializers.CharField(max_length=200, required=False, allow_blank=True)
    expires_on = serializers.DateField(required=False)
    method = serializers.ChoiceField(choices=[c for c in Payment.Method.values if c != "loan"],
                                     required=False)


class UnitReserveSerializer(ReserveSerializer):
    unit = serializers.IntegerField(min_value=1)
    customer = serializers.IntegerField(min_value=1)


class BuyerInSerializer(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1)
    share = serializers.DecimalField(max_digits=5, decimal_places=2)


class InstalmentInSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Instalment.Kind.values)
    due_date = serializers.DateField()
    amount = serializers.DecimalField(**MONEY)
    bank = serializers.CharField(max_length=100, required=False, allow_blank=True)


class ContractSerializer(serializers.Serializer):
    buyers = BuyerInSerializer(many=True)
    payment_method = serializers.ChoiceField(choices=DealPaymentMethod.values)
    instalments = InstalmentInSerializer(many=True)
    discount_amount = serializers.DecimalField(**MONEY, min_value=0, required=False)
    discount_note = serializers.CharField(max_length=200, required=False, allow_blank=True)
    signed_on = serializers.DateField(required=False)


class PaymentInSerializer(serializers.Serializer):
    instalment = serializers.IntegerField(min_value=1)
    amount = serializers.DecimalField(**MONEY)
    method = serializers.ChoiceField(choices=Payment.Method.values, required=False)
    paid_at = serializers.DateTimeField(required=False)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class LoanInSerializer(serializers.Serializer):
    instalment = serializers.IntegerField(min_value=1)
    status = serializers.ChoiceField(choices=LoanStatus.values)
    bank = serializers.CharField(max_length=100, required=False, allow_blank=True)


class CollectionInSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["call", "visit", "wechat", "sms"], required=False)
    outcome = serializers.CharField(max_length=150, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    next_follow_up_at = serializers.DateTimeField(required=False)


class ChangeInSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DealChangeRequest.Kind.values)
    reason = serializers.CharField(max_length=300)
    refund_amount = serializers.DecimalField(**MONEY, min_value=0, required=False)
    target_unit = serializers.IntegerField(min_value=1, required=False)


class DecideInSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    comment = serializers.CharField(max_length=300, required=False, allow_blank=True)


def _valid(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class DealViewSet(DealErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                  ScopedGenericViewSet):
    """Deals in the caller's data scope."""

    model = Deal
    serializer_class = DealSerializer

    def get_serializer_class(self):
        return DealDetailSerializer if self.action != "list" else DealSerializer

    def scope_queryset(self, qs):
        qs = qs.select_related("unit", "customer")
        params = self.request.query_params
        if params.get("status") in DealStatus.values:
            qs = qs.filter(status=params["status"])
        for name in ("project", "unit", "customer"):
            if (params.get(name) or "").isdigit():
                qs = qs.filter(**{f"{name}_id": int(params[name])})
        if self.action != "list":
            qs = qs.prefetch_related(
                Prefetch("buyers", queryset=DealBuyer.objects.select_related("customer")),
                Prefetch("instalments", queryset=Instalment.objects.order_by("sequence")),
                Prefetch("payments", queryset=Payment.objects.order_by("-paid_at", "-id")),
                Prefetch("events", queryset=DealEvent.objects.select_related("actor")
                         .order_by("-id")))
        return qs

    def _answer(self, deal: Deal, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.scope_queryset(Deal.objects.filter(pk=deal.pk)).get()
        return Response(DealDetailSerializer(fresh).data, status=code)

    @extend_schema(request=HoldSerializer, responses={201: DealDetailSerializer})
    @action(detail=False, methods=["post"])
    def hold(self, request: Request) -> Response:
        data = _valid(HoldSerializer, request)
        deal = services.deal_hold(actor=request.user, unit=data["unit"],
                                  customer=data["customer"], hours=data.get("hours"),
                                  note=data.get("note", ""))
        return self._answer(deal, status.HTTP_201_CREATED)

    @extend_schema(request=UnitReserveSerializer, responses={201: DealDetailSerializer},
                   operation_id="v1_deals_reserve_unit")
    @action(detail=False, methods=["post"], url_path="reserve", url_name="reserve-unit")
    def reserve_unit(self, request: Request) -> Response:
        data = _valid(UnitReserveSerializer, request)
        deal = services.deal_reserve(
            actor=request.user, unit=data["unit"], customer=data["customer"],
            deposit=data["deposit"], discount_amount=data.get("discount_amount", 0),
            discount_note=data.get("discount_note", ""), expires_on=data.get("expires_on"),
            method=data.get("method", Payment.Method.TRANSFER))
        return self._answer(deal, status.HTTP_201_CREATED)

    @extend_schema(request=ReserveSerializer, responses=DealDetailSerializer)
    @action(detail=True, methods=["post"])
    def reserve(self, request: Request, pk=None) -> Response:
        data = _valid(ReserveSerializer, request)
        deal = services.deal_reserve(
            actor=request.user, deal=self.get_object(), deposit=data["deposit"],
            discount_amount=data.get("discount_amount", 0),
            discount_note=data.get("discount_note", ""), expires_on=data.get("expires_on"),
            method=data.get("method", Payment.Method.TRANSFER))
        return self._answer(deal)

    @extend_schema(request=ContractSerializer, responses=DealDetailSerializer)
    @action(detail=True, methods=["post"])
    def contract(self, request: Request, pk=None) -> Response:
        data = _valid(ContractSerializer, request)
        deal = services.deal_contract(
            actor=request.user, deal=self.get_object(),
            buyers=[(row["customer"], row["share"]) for row in data["buyers"]],
            payment_method=data["payment_method"],
            instalments=[InstalmentLine(kind=row["kind"], due_date=row["due_date"],
                                        amount=row["amount"], bank=row.get("bank", ""))
                         for row in data["instalments"]],
            discount_amount=data.get("discount_amount"),
            discount_note=data.get("discount_note"), signed_on=data.get("signed_on"))
        return self._answer(deal)

    def _instalment_of(self, deal: Deal, pk: int) -> Instalment:
        line = deal.instalments.filter(pk=pk).first()
        if line is None:
            raise serializers.ValidationError({"instalment": ["No such instalment."]})
        return line

    @extend_schema(request=PaymentInSerializer, responses={201: PaymentSerializer})
    @action(detail=True, methods=["post"])
    def payments(self, request: Request, pk=None) -> Response:
        data = _valid(PaymentInSerializer, request)
        deal = self.get_object()
        payment = services.payment_record(
            actor=request.user, instalment=self._instalment_of(deal, data["instalment"]),
            amount=data["amount"], method=data.get("method", Payment.Method.TRANSFER),
            paid_at=data.get("paid_at"), note=data.get("note", ""))
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LoanInSerializer, responses=InstalmentSerializer)
    @action(detail=True, methods=["post"])
    def loan(self, request: Request, pk=None) -> Response:
        data = _valid(LoanInSerializer, request)
        deal = self.get_object()
        line = services.loan_status_set(
            actor=request.user, instalment=self._instalment_of(deal, data["instalment"]),
            status=data["status"], bank=data.get("bank") or None)
        return Response(InstalmentSerializer(line).data)

    @extend_schema(request=None, responses=DealDetailSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk=None) -> Response:
        """Lets a hold go (no approval: no money was taken)."""
        reason = request.data.get("reason", "") if hasattr(request.data, "get") else ""
        return self._answer(services.deal_hold_release(actor=request.user,
                                                       deal=self.get_object(),
                                                       reason=str(reason)))

    @extend_schema(request=None, responses=DealDetailSerializer)
    @action(detail=True, methods=["post"])
    def deliver(self, request: Request, pk=None) -> Response:
        return self._answer(services.deal_deliver(actor=request.user, deal=self.get_object()))

    @extend_schema(request=CollectionInSerializer, responses={201: None})
    @action(detail=True, methods=["post"])
    def collection(self, request: Request, pk=None) -> Response:
        data = _valid(CollectionInSerializer, request)
        interaction = services.collection_follow_up_log(
            actor=request.user, deal=self.get_object(), kind=data.get("kind", "call"),
            outcome=data.get("outcome", ""), notes=data.get("notes", ""),
            next_follow_up_at=data.get("next_follow_up_at"))
        return Response({"interaction": interaction.pk}, status=status.HTTP_201_CREATED)

    @extend_schema(request=ChangeInSerializer, responses={201: ChangeRequestSerializer})
    @action(detail=True, methods=["post"], url_path="change-requests",
            url_name="change-requests")
    def change_requests(self, request: Request, pk=None) -> Response:
        data = _valid(ChangeInSerializer, request)
        change = services.change_request_create(
            actor=request.user, deal=self.get_object(), kind=data["kind"],
            reason=data["reason"], refund_amount=data.get("refund_amount", 0),
            target_unit=data.get("target_unit"))
        return Response(ChangeRequestSerializer(change).data, status=status.HTTP_201_CREATED)


class ChangeRequestViewSet(DealErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                           ScopedGenericViewSet):
    """Cancellations and swaps in the caller's scope; approvers decide them."""

    model = DealChangeRequest
    serializer_class = ChangeRequestSerializer

    def scope_queryset(self, qs):
        state = self.request.query_params.get("state")
        if state in DealChangeRequest.State.values:
            qs = qs.filter(state=state)
        return qs

    @extend_schema(request=DecideInSerializer, responses=ChangeRequestSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk=None) -> Response:
        data = _valid(DecideInSerializer, request)
        change = services.change_request_decide(
            actor=request.user, request=self.get_object(), approve=data["approve"],
            comment=data.get("comment", ""))
        return Response(ChangeRequestSerializer(change).data)


def register(router: BaseRouter) -> None:
    router.register("deals", DealViewSet, basename="deal")
    router.register("deal-change-requests", ChangeRequestViewSet,
                    basename="deal-change-request")
