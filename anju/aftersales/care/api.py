"""The care API for staff: knowledge base (and the reception form's suggestions), surveys
(templates, invitations, responses, NPS/CSAT scores) and handover batches (slots, units,
booking, inspection, keys, sign-off). Parse, call a service or selector, render. A refused
action (slot full, wrong stage, answered) answers 409 with the service's `code`."""

from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from anju.accounts.models import Company
from anju.core.api.base import ScopedGenericViewSet
from anju.core.api.errors import Conflict
from anju.customers.models import Customer
from anju.property.models import Building

from ..models.care import (
    HandoverBatch,
    HandoverEvent,
    HandoverSlot,
    HandoverUnit,
    KnowledgeArticle,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
    SurveyTemplate,
    SurveyTrigger,
)
from . import selectors, services
from .api_checklists import CompanyChecklistViewSet, ProjectChecklistViewSet
from .services import CareError, InspectionLine, QuestionSpec
from .views import is_care_manager, is_care_staff


class CareConflict(Conflict):
    default_code = "conflict"


class CareErrorsMixin:
    def handle_exception(self, exc):
        if isinstance(exc, CareError):
            exc = CareConflict(detail=exc.message, code=exc.code)
        return super().handle_exception(exc)


class IsCareStaff(BasePermission):
    def has_permission(self, request, view) -> bool:
        if not is_care_staff(request.user):
            return False
        return request.method in ("GET", "HEAD", "OPTIONS") or getattr(
            view, "staff_may_write", False) or is_care_manager(request.user)


# --- knowledge base ---------------------------------------------------------------------------
class KnowledgeArticleSerializer(serializers.ModelSerializer):
    category_name = serializers.CharField(source="category.name", read_only=True, default="")

    class Meta:
        model = KnowledgeArticle
        fields = ["id", "company", "title", "body", "keywords", "category", "category_name",
                  "is_published", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class KnowledgeSuggestionSerializer(serializers.Serializer):
    articles = KnowledgeArticleSerializer(many=True)
    resolutions = serializers.ListField(child=serializers.DictField())


class KnowledgeViewSet(CareErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       mixins.CreateModelMixin, mixins.UpdateModelMixin, ScopedGenericViewSet):
    """Articles of the companies the user works for. `?q=` searches title, keywords and
    answer (Chinese fragments too), `?category=` narrows to a problem category."""

    model = KnowledgeArticle
    serializer_class = KnowledgeArticleSerializer
    permission_classes = [IsCareStaff]

    def scope_queryset(self, qs):
        qs = qs.filter(pk__in=selectors.knowledge_articles_for(user=self.request.user)
                       .values("id")).select_related("category")
        params = self.request.query_params
        if self.action == "list" and (params.get("q") or params.get("category")):
            found = selectors.knowledge_search(user=self.request.user, query=params.get("q", ""),
                                               category_id=_int(params.get("category")),
                                               limit=200)
            qs = qs.filter(pk__in=[a.pk for a in found])
        return qs

    def _fields(self, data) -> dict:
        category = data.get("category")
        return {"title": data.get("title", ""), "body": data.get("body", ""),
                "keywords": data.get("keywords", ""),
                "category_id": category.pk if category else None,
                "is_published": data.get("is_published", True)}

    def perform_create(self, serializer):
        company = serializer.validated_data.get("company")
        if company is None or not Company.objects.visible_to(self.request.user).filter(
                pk=company.pk).exists():
            raise serializers.ValidationError({"company": [_("Choose one of your companies.")]})
        serializer.instance = services.knowledge_article_create(
            actor=self.request.user, company=company, **self._fields(serializer.validated_data))

    def perform_update(self, serializer):
        data = {**KnowledgeArticleSerializer(serializer.instance).data, **serializer.validated_data}
        if "category" not in serializer.validated_data:
            data["category"] = serializer.instance.category
        serializer.instance = services.knowledge_article_update(
            actor=self.request.user, article=serializer.instance, **self._fields(data))

    @extend_schema(responses={200: KnowledgeSuggestionSerializer})
    @action(detail=False, methods=["get"])
    def suggest(self, request: Request) -> Response:
        """What to show while a ticket is typed: `?category=&text=` → articles and the
        completion notes of similar closed tickets."""
        articles, resolutions = selectors.knowledge_suggest(
            user=request.user, text=request.query_params.get("text", "")[:500],
            category_id=_int(request.query_params.get("category")))
        return Response({"articles": KnowledgeArticleSerializer(articles, many=True).data,
                         "resolutions": [r.__dict__ for r in resolutions]})


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- surveys ------------------------------------------------------------------------------------
class SurveyQuestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = SurveyQuestion
        fields = ["id", "position", "kind", "text", "choices", "required"]
        read_only_fields = ["id", "position"]


class SurveyTemplateSerializer(serializers.ModelSerializer):
    questions = SurveyQuestionSerializer(many=True)

    class Meta:
        model = SurveyTemplate
        fields = ["id", "company", "name", "trigger", "intro", "is_active", "questions",
                  "created_at"]
        read_only_fields = ["created_at"]


class SurveyTemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                            mixins.CreateModelMixin, ScopedGenericViewSet):
    """Survey templates with their questions (kinds: nps 0–10, scale 1–5, choice, text).
    Creating an active one retires the company's previous one of the same trigger."""

    model = SurveyTemplate
    serializer_class = SurveyTemplateSerializer
    permission_classes = [IsCareStaff]

    def scope_queryset(self, qs):
        return (SurveyTemplate.objects.filter(
            company_id__in=Company.objects.visible_to(self.request.user).values("id"))
            .prefetch_related("questions"))

    def perform_create(self, serializer):
        data = serializer.validated_data
        if not Company.objects.visible_to(self.request.user).filter(
                pk=data["company"].pk).exists():
            raise serializers.ValidationError({"company": [_("Choose one of your companies.")]})
        serializer.instance = services.survey_template_create(
            actor=self.request.user, company=data["company"], name=data["name"],
            trigger=data["trigger"], intro=data.get("intro", ""),
            is_active=data.get("is_active", True),
            questions=[QuestionSpec(kind=q["kind"], text=q["text"],
                                    choices=tuple(q.get("choices") or ()),
                                    required=q.get("required", True))
                       for q in data["questions"]])


class SurveyInvitationSerializer(serializers.ModelSerializer):
    survey = serializers.CharField(source="template.name", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)

    class Meta:
        model = SurveyInvitation
        fields = ["id", "template", "survey", "customer", "customer_name", "project",
                  "trigger", "reference", "sent_at", "expires_at", "answered_at"]
        read_only_fields = fields


class SurveySendSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    project = serializers.IntegerField()
    trigger = serializers.ChoiceField(choices=SurveyTrigger.choices,
                                      default=SurveyTrigger.MANUAL)
    reference = serializers.CharField(max_length=40)


class SurveyInvitationViewSet(CareErrorsMixin, mixins.ListModelMixin,
                              mixins.RetrieveModelMixin, ScopedGenericViewSet):
    """Surveys sent (scoped by project). `?customer=` narrows to one customer. POST `send`
    sends the company's active survey of a trigger to a customer once per reference."""

    model = SurveyInvitation
    serializer_class = SurveyInvitationSerializer
    permission_classes = [IsCareStaff]
    staff_may_write = True

    def scope_queryset(self, qs):
        customer = _int(self.request.query_params.get("customer"))
        if customer:
            qs = qs.filter(customer_id=customer)
        return qs.select_related("template", "customer")

    @extend_schema(request=SurveySendSerializer, responses={201: SurveyInvitationSerializer})
    @action(detail=False, methods=["post"])
    def send(self, request: Request) -> Response:
        params = SurveySendSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        from anju.accounts.models import Project

        project = Project.objects.visible_to(request.user).filter(
            pk=params.validated_data["project"]).first()
        if project is None:
            raise serializers.ValidationError({"project": [_("Choose one of your projects.")]})
        customer = Customer.objects.filter(pk=params.validated_data["customer"],
                                           company_id=project.company_id).first()
        if customer is None:
            raise serializers.ValidationError({"customer": [_("No such customer.")]})
        invitation = services.survey_invite(
            customer=customer, project=project, trigger=params.validated_data["trigger"],
            reference=params.validated_data["reference"])
        if invitation is None:
            raise CareError(_("No active survey for this trigger."), "no_survey")
        return Response(SurveyInvitationSerializer(invitation).data, status=201)


class SurveyResponseSerializer(serializers.ModelSerializer):
    answers = serializers.SerializerMethodField()

    class Meta:
        model = SurveyResponse
        fields = ["id", "invitation", "customer", "project", "trigger", "nps_score",
                  "csat_score", "submitted_at", "answers"]

    def get_answers(self, obj) -> list[dict]:
        return [{"question": a.question_id, "number": a.number, "text": a.text}
                for a in obj.answers.all()]


class SurveyScoresSerializer(serializers.Serializer):
    project = serializers.IntegerField(allow_null=True)
    project_name = serializers.CharField()
    responses = serializers.IntegerField()
    nps = serializers.IntegerField(allow_null=True)
    csat = serializers.IntegerField(allow_null=True)


class SurveyResponseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                            ScopedGenericViewSet):
    model = SurveyResponse
    serializer_class = SurveyResponseSerializer
    permission_classes = [IsCareStaff]

    def scope_queryset(self, qs):
        return qs.prefetch_related("answers")

    @extend_schema(responses={200: SurveyScoresSerializer(many=True)})
    @action(detail=False, methods=["get"])
    def scores(self, request: Request) -> Response:
        """NPS and CSAT per project: `?from=&to=` (dates, default the last year),
        `?trigger=`, `?project=`."""
        params = request.query_params
        rows = selectors.survey_scores(
            user=request.user, date_from=parse_date(params.get("from") or ""),
            date_to=parse_date(params.get("to") or ""), project_id=_int(params.get("project")),
            trigger=params.get("trigger", "") if params.get("trigger") in SurveyTrigger.values
            else "")
        return Response([{"project": r.project_id, "project_name": r.project_name,
                          "responses": r.responses, "nps": r.nps, "csat": r.csat}
                         for r in rows])


# --- handover ---------------------------------------------------------------------------------
class HandoverSlotSerializer(serializers.ModelSerializer):
    class Meta:
        model = HandoverSlot
        fields = ["id", "batch", "starts_at", "ends_at", "capacity", "booked"]
        read_only_fields = ["id", "batch", "booked"]


class HandoverBatchSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    checklist = serializers.SerializerMethodField(
        help_text="The batch's inspection checklist: [{room, items: [...]}], taken from the "
                  "project's checklist when the batch was created.")

    class Meta:
        model = HandoverBatch
        fields = ["id", "project", "building", "name", "starts_on", "ends_on", "status",
                  "created_at", "progress", "checklist"]
        read_only_fields = ["id", "project", "status", "created_at", "progress", "checklist"]

    def get_checklist(self, obj) -> list[dict]:
        return services.batch_checklist(obj)

    def get_progress(self, obj) -> dict:
        return self.context.get("progress", {}).get(obj.pk) or selectors.handover_progress(
            batch_ids=[obj.pk])[obj.pk]


class HandoverBatchViewSet(CareErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                           mixins.CreateModelMixin, ScopedGenericViewSet):
    """Handover batches per building with their progress (units per stage); POST creates a
    batch with every sold unit of the building; `slots` lists and adds appointment slots."""

    model = HandoverBatch
    serializer_class = HandoverBatchSerializer
    permission_classes = [IsCareStaff]

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        progress = selectors.handover_progress(batch_ids=[b.pk for b in page])
        data = HandoverBatchSerializer(page, many=True, context={"progress": progress}).data
        return self.get_paginated_response(data)

    def perform_create(self, serializer):
        building = Building.objects.visible_to(self.request.user).filter(
            pk=serializer.validated_data["building"].pk).first()
        if building is None:
            raise serializers.ValidationError({"building": [_("Choose one of your buildings.")]})
        data = serializer.validated_data
        serializer.instance = services.handover_batch_create(
            actor=self.request.user, building=building, name=data["name"],
            starts_on=data["starts_on"], ends_on=data["ends_on"])

    @extend_schema(request=HandoverSlotSerializer,
                   responses={200: HandoverSlotSerializer(many=True), 201: HandoverSlotSerializer})
    @action(detail=True, methods=["get", "post"])
    def slots(self, request: Request, pk=None) -> Response:
        batch = self.get_object()
        if request.method == "POST":
            params = HandoverSlotSerializer(data=request.data)
            params.is_valid(raise_exception=True)
            slot = services.handover_slot_create(actor=request.user, batch=batch,
                                                 **params.validated_data)
            return Response(HandoverSlotSerializer(slot).data, status=201)
        return Response(HandoverSlotSerializer(selectors.handover_slots_of(batch=batch),
                                       many=True).data)


class HandoverUnitSerializer(serializers.ModelSerializer):
    unit_label = serializers.CharField(source="unit.label", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True, default="")

    class Meta:
        model = HandoverUnit
        fields = ["id", "batch", "unit", "unit_label", "customer", "customer_name", "stage",
                  "slot", "booked_at", "inspected_at", "keys_handed_at", "key_count",
                  "signed_at", "signed_by"]
        read_only_fields = fields


class HandoverEventSerializer(serializers.ModelSerializer):
    actor_name = serializers.StringRelatedField(source="actor", read_only=True)

    class Meta:
        model = HandoverEvent
        fields = ["id", "kind", "message", "actor", "actor_name", "created_at"]
        read_only_fields = fields


class HandoverBookSerializer(serializers.Serializer):
    slot = serializers.IntegerField()


class InspectionLineSerializer(serializers.Serializer):
    room = serializers.CharField(max_length=30)
    item = serializers.CharField(max_length=50)
    ok = serializers.BooleanField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    component = serializers.IntegerField(required=False, allow_null=True, default=None)
    category = serializers.IntegerField(required=False, allow_null=True, default=None)


class ChecklistLineSerializer(serializers.Serializer):
    room = serializers.CharField()
    item = serializers.CharField()
    result = serializers.CharField(allow_null=True)
    note = serializers.CharField(allow_blank=True)
    ticket = serializers.IntegerField(allow_null=True)


class HandoverInspectSerializer(serializers.Serializer):
    items = InspectionLineSerializer(many=True)


class HandoverKeysSerializer(serializers.Serializer):
    key_count = serializers.IntegerField()


class HandoverSignSerializer(serializers.Serializer):
    signed_by = serializers.CharField(max_length=50)


class HandoverUnitViewSet(CareErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          ScopedGenericViewSet):
    """Units of handover batches (`?batch=`), and their steps: book a slot, record the
    inspection (issues become repair tickets), hand over keys, sign off."""

    model = HandoverUnit
    serializer_class = HandoverUnitSerializer
    permission_classes = [IsCareStaff]
    staff_may_write = True

    def scope_queryset(self, qs):
        batch = _int(self.request.query_params.get("batch"))
        if batch:
            qs = qs.filter(batch_id=batch)
        return qs.select_related("unit", "customer", "batch")

    def _done(self, handover_id: int) -> Response:
        return Response(HandoverUnitSerializer(
            self.get_queryset().get(pk=handover_id)).data)

    @extend_schema(request=HandoverBookSerializer, responses={200: HandoverUnitSerializer})
    @action(detail=True, methods=["post"])
    def book(self, request: Request, pk=None) -> Response:
        handover = self.get_object()
        params = HandoverBookSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.handover_book(actor=request.user, handover_id=handover.pk,
                               slot_id=params.validated_data["slot"])
        return self._done(handover.pk)

    @extend_schema(request=None, responses={200: HandoverUnitSerializer})
    @action(detail=True, methods=["post"], url_path="cancel-booking")
    def cancel_booking(self, request: Request, pk=None) -> Response:
        """Frees the unit's appointment (the owner called to cancel); 409 `wrong_stage`
        when there is none."""
        handover = self.get_object()
        services.handover_cancel_booking(actor=request.user, handover_id=handover.pk)
        return self._done(handover.pk)

    @extend_schema(request=HandoverInspectSerializer, responses={200: HandoverUnitSerializer})
    @action(detail=True, methods=["post"])
    def inspect(self, request: Request, pk=None) -> Response:
        handover = self.get_object()
        params = HandoverInspectSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.handover_inspect(actor=request.user, handover_id=handover.pk, lines=[
            InspectionLine(room=i["room"], item=i["item"], ok=i["ok"], note=i["note"],
                           component_id=i["component"], category_id=i["category"])
            for i in params.validated_data["items"]])
        return self._done(handover.pk)

    @extend_schema(responses={200: ChecklistLineSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def checklist(self, request: Request, pk=None) -> Response:
        """The unit's checklist (its batch's), line by line, with what was recorded so far."""
        handover = self.get_object()
        recorded = {(i.room, i.item): i for i in handover.inspection_items.all()}
        lines = []
        for row in services.batch_checklist(handover.batch):
            for thing in row["items"]:
                done = recorded.get((row["room"], thing))
                lines.append({"room": row["room"], "item": thing,
                              "result": done.result if done else None,
                              "note": done.note if done else "",
                              "ticket": done.ticket_id if done else None})
        return Response(ChecklistLineSerializer(lines, many=True).data)

    @extend_schema(responses={200: HandoverEventSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk=None) -> Response:
        """The unit's handover history, oldest first: appointments, inspection, keys,
        sign-off and what it did in sales."""
        handover = self.get_object()
        return Response(HandoverEventSerializer(
            selectors.handover_events_of(handover=handover), many=True).data)

    @extend_schema(request=HandoverKeysSerializer, responses={200: HandoverUnitSerializer})
    @action(detail=True, methods=["post"])
    def keys(self, request: Request, pk=None) -> Response:
        handover = self.get_object()
        params = HandoverKeysSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.handover_keys(actor=request.user, handover_id=handover.pk,
                               key_count=params.validated_data["key_count"])
        return self._done(handover.pk)

    @extend_schema(request=HandoverSignSerializer, responses={200: HandoverUnitSerializer})
    @action(detail=True, methods=["post"], url_path="sign-off")
    def sign_off(self, request: Request, pk=None) -> Response:
        handover = self.get_object()
        params = HandoverSignSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.handover_sign_off(actor=request.user, handover_id=handover.pk,
                                   signed_by=params.validated_data["signed_by"])
        return self._done(handover.pk)


def register(router: BaseRouter) -> None:
    router.register("service/knowledge", KnowledgeViewSet, basename="service-knowledge")
    router.register("service/survey-templates", SurveyTemplateViewSet,
                    basename="service-survey-template")
    router.register("service/survey-invitations", SurveyInvitationViewSet,
                    basename="service-survey-invitation")
    router.register("service/survey-responses", SurveyResponseViewSet,
                    basename="service-survey-response")
    router.register("service/handover-batches", HandoverBatchViewSet,
                    basename="service-handover-batch")
    router.register("service/handover-units", HandoverUnitViewSet,
                    basename="service-handover-unit")
    router.register("service/handover-checklists", ProjectChecklistViewSet,
                    basename="service-handover-checklist")
    router.register("service/company-checklists", CompanyChecklistViewSet,
                    basename="service-company-checklist")
