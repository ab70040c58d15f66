"""The ledger's REST API under `/api/v1/`: customers (list, create with the door check, 360°
retrieve, PATCH with version), their phones, tags, needs, consent, tier override and
interactions, the search box, duplicate candidates, merge, and import jobs.

Thin: rows come from `visible_to(user)` (the scoped base viewsets) or the ledger's selectors,
writes from `services`; masking is the kernel's masked fields (`?unmask=phone,id_number` for
users with the right, logged). A customer outside the caller's scope is a 404."""

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import FileResponse
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.utils.urls import replace_query_param

from anju.core.api.base import AnjuGenericViewSet, ScopedGenericViewSet
from anju.core.api.pagination import AnjuCursorPagination

from . import duplicates, merging, search, selectors, services
from .importing import errorsheet
from .importing import selectors as import_selectors
from .importing import services as import_services
from .models import (
    ConsentRecord,
    Customer,
    ImportJob,
    Interaction,
    Tag,
    TagDimension,
)
from .serializers import (
    ConsentSerializer,
    ConsentWriteSerializer,
    Customer360Serializer,
    CustomerCreateSerializer,
    CustomerDetailSerializer,
    CustomerListPageSerializer,
    CustomerListQuerySerializer,
    CustomerListSerializer,
    DuplicateDismissSerializer,
    DuplicatePageSerializer,
    DuplicatePairSerializer,
    DuplicateQuerySerializer,
    DuplicateResponseSerializer,
    ImportJobSerializer,
    ImportMappingSerializer,
    ImportPreviewSerializer,
    ImportUploadSerializer,
    InteractionCreateSerializer,
    InteractionSerializer,
    MergeRecordSerializer,
    MergeRequestSerializer,
    NeedSerializer,
    PhoneSerializer,
    PhoneWriteSerializer,
    SearchHitSerializer,
    SearchQuerySerializer,
    TagDimensionSerializer,
    TagSerializer,
    TagsWriteSerializer,
    TierOverrideSerializer,
)


def duplicate_response(*, viewer, error: services.DuplicateCustomer) -> Response:
    """409 offering the record already in the ledger; its id always (so a steward can be
    asked), its name only when the caller may see it."""
    existing = error.existing
    visible = Customer.objects.visible_to(viewer).filter(pk=existing.pk).exists()
    body = {
        "code": "duplicate",
        "message": _("This person is already in the ledger."),
        "fields": error.message_dict,
        "existing": {"id": existing.pk, "visible": visible},
    }
    if visible:
        body["existing"]["name"] = existing.name
    return Response(body, status=status.HTTP_409_CONFLICT)


DUPLICATE_409 = OpenApiResponse(DuplicateResponseSerializer,
                                description="The person is already in the ledger.")


# The latest interactions in the 360° answer (as before the pages' shorter first page);
# `/customers/{id}/interactions/` pages through all of them.
API_TIMELINE = 50

class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      mixins.CreateModelMixin, mixins.UpdateModelMixin, ScopedGenericViewSet):
    """Customers in the caller's data scope; merged-away records are not listed."""

    model = Customer
    serializer_class = CustomerDetailSerializer

    def get_serializer_class(self):
        if self.action == "list":
            return CustomerListSerializer
        if self.action == "create":
            return CustomerCreateSerializer
        return CustomerDetailSerializer

    def scope_queryset(self, qs):
        return qs.filter(merged_into__isnull=True).select_related("owner", "project")

    @extend_schema(parameters=[CustomerListQuerySerializer],
                   responses=CustomerListPageSerializer)
    def list(self, request: Request, *args, **kwargs) -> Response:
        """A keyset page of the caller's customers, filtered and sorted like the ledger page.
        No total count is computed: follow `next` until it is null."""
        params = CustomerListQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = dict(params.validated_data)
        sort, cursor, page_size = query.pop("sort"), query.pop("cursor", None), \
            query.pop("page_size")
        consent = query.pop("consent", None)
        if consent is not None:
            query["consent"] = "1" if consent else "0"
        page = selectors.customer_list(viewer=request.user, filters=query, sort=sort,
                                       cursor=cursor, page_size=page_size)
        next_url = None
        if page.next_cursor:
            next_url = replace_query_param(request.build_absolute_uri(), "cursor",
                                           page.next_cursor)
        rows = CustomerListSerializer(page.rows, many=True,
                                      context=self.get_serializer_context()).data
        return Response({"next": next_url, "previous": None, "results": rows})

    @extend_schema(responses=Customer360Serializer)
    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        """The 360° data: identity (masked), phones, needs, tags, household, consent history,
        latest interactions, change history (auditors) and other apps' sections."""
        data = selectors.customer_get_360(viewer=request.user, pk=kwargs.get("pk"),
                                          timeline_size=API_TIMELINE)
        return Response(Customer360Serializer(data, context=self.get_serializer_context()).data)

    def _detail(self, customer: Customer) -> Response:
        fresh = self.get_queryset().get(pk=customer.pk)
        return Response(CustomerDetailSerializer(fresh, context=self.get_serializer_context()
                                                 ).data)

    @extend_schema(request=CustomerCreateSerializer,
                   responses={201: CustomerDetailSerializer, 409: DUPLICATE_409})
    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = CustomerCreateSerializer(data=request.data,
                                              context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["interested_projects"] = data.get("interested_projects") or []
        try:
            customer = services.customer_create(actor=request.user, **data)
        except services.DuplicateCustomer as error:
            return duplicate_response(viewer=request.user, error=error)
        response = self._detail(customer)
        response.status_code = status.HTTP_201_CREATED
        return response

    @extend_schema(responses={200: CustomerDetailSerializer, 409: DUPLICATE_409})
    def update(self, request: Request, *args, **kwargs) -> Response:
        try:
            return super().update(request, *args, **kwargs)
        except services.DuplicateCustomer as error:
            return duplicate_response(viewer=request.user, error=error)

    @extend_schema(responses={200: CustomerDetailSerializer, 409: DUPLICATE_409})
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        return super().partial_update(request, *args, **kwargs)

    def perform_update(self, serializer) -> None:
        version = self.expected_version(serializer)
        changes = {key: value for key, value in serializer.validated_data.items()
                   if key in services.UPDATABLE}
        updated = services.customer_update(actor=self.request.user,
                                           customer=serializer.instance,
                                           expected_version=version, **changes)
        serializer.instance = self.get_queryset().get(pk=updated.pk)

    # --- search -----------------------------------------------------------------------------
    @extend_schema(parameters=[SearchQuerySerializer], responses=SearchHitSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None)
    def search(self, request: Request) -> Response:
        """One box: name or part of it, pinyin, initials, last 4 digits, a phone, an ID."""
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        hits = search.customer_search(viewer=request.user, query=params.validated_data["q"],
                                      limit=params.validated_data["limit"])
        return Response(SearchHitSerializer(hits, many=True,
                                            context=self.get_serializer_context()).data)

    # --- phones -----------------------------------------------------------------------------
    @extend_schema(methods=["get"], responses=PhoneSerializer(many=True))
    @extend_schema(methods=["post"], request=PhoneWriteSerializer,
                   responses={201: PhoneSerializer, 409: DUPLICATE_409})
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def phones(self, request: Request, pk=None) -> Response:
        customer = self.get_object()
        context = self.get_serializer_context()
        if request.method == "GET":
            return Response(PhoneSerializer(customer.phones.order_by("-is_primary", "id"),
                                            many=True, context=context).data)
        body = PhoneWriteSerializer(data=request.data, context=context)
        body.is_valid(raise_exception=True)
        try:
            phone = services.customer_phone_add(
                actor=request.user, customer=customer, phone=body.validated_data["phone"],
                label=body.validated_data["label"],
                make_primary=body.validated_data["is_primary"])
        except services.DuplicateCustomer as error:
            return duplicate_response(viewer=request.user, error=error)
        return Response(PhoneSerializer(phone, context=context).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"phones/(?P<phone_id>\d+)",
            url_name="phone-remove")
    def phone_remove(self, request: Request, pk=None, phone_id=None) -> Response:
        services.customer_phone_remove(actor=request.user, customer=self.get_object(),
                                       phone_id=int(phone_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=PhoneSerializer)
    @action(detail=True, methods=["post"], url_path=r"phones/(?P<phone_id>\d+)/primary",
            url_name="phone-primary")
    def phone_primary(self, request: Request, pk=None, phone_id=None) -> Response:
        phone = services.customer_phone_set_primary(actor=request.user,
                                                    customer=self.get_object(),
                                                    phone_id=int(phone_id))
        return Response(PhoneSerializer(phone, context=self.get_serializer_context()).data)

    # --- tags, need, consent, tier ----------------------------------------------------------
    @extend_schema(methods=["get"], responses=TagSerializer(many=True))
    @extend_schema(methods=["put"], request=TagsWriteSerializer,
                   responses=TagSerializer(many=True))
    @action(detail=True, methods=["get", "put"], pagination_class=None)
    def tags(self, request: Request, pk=None) -> Response:
        customer = self.get_object()
        if request.method == "PUT":
            body = TagsWriteSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            services.customer_tags_set(actor=request.user, customer=customer,
                                       tags=body.validated_data["tags"])
        tags = (Tag.objects.filter(customer_links__customer=customer)
                .select_related("dimension").order_by("dimension__order", "name"))
        return Response(TagSerializer(tags, many=True).data)

    @extend_schema(request=NeedSerializer, responses=NeedSerializer)
    @action(detail=True, methods=["put"])
    def need(self, request: Request, pk=None) -> Response:
        customer = self.get_object()
        body = NeedSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        need = services.customer_need_set(actor=request.user, customer=customer,
                                          **body.validated_data)
        return Response(NeedSerializer(need).data)

    @extend_schema(methods=["get"], responses=ConsentSerializer(many=True))
    @extend_schema(methods=["post"], request=ConsentWriteSerializer,
                   responses={201: ConsentSerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def consent(self, request: Request, pk=None) -> Response:
        """The consent history (PIPL), newest first; POST grants or withdraws."""
        customer = self.get_object()
        if request.method == "GET":
            return Response(ConsentSerializer(
                ConsentRecord.objects.filter(customer=customer), many=True).data)
        body = ConsentWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        record_with = (services.customer_consent_grant if data["granted"]
                       else services.customer_consent_withdraw)
        record = record_with(actor=request.user, customer=customer,
                             wording_version=data["wording_version"], source=data["source"])
        return Response(ConsentSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TierOverrideSerializer, responses=CustomerDetailSerializer)
    @action(detail=True, methods=["post"])
    def tier(self, request: Request, pk=None) -> Response:
        """Sets the tier by hand (managers), with the reason; an empty tier clears it."""
        customer = self.get_object()
        body = TierOverrideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        updated = services.customer_tier_override(
            actor=request.user, customer=customer, tier=body.validated_data["tier"],
            reason=body.validated_data["reason"])
        return self._detail(updated)

    # --- merge ------------------------------------------------------------------------------
    @extend_schema(request=MergeRequestSerializer,
                   responses={201: MergeRecordSerializer, 403: OpenApiResponse(
                       description="Only data stewards may merge."),
                              409: OpenApiResponse(description="A record changed since.")})
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk=None) -> Response:
        """Folds `merged` into this customer: phones, tags, interactions and every row other
        apps hang on it move here; the merge is recorded and can be explained afterwards."""
        survivor = self.get_object()
        body = MergeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        versions = {}
        for key, version in data["versions"].items():
            if not str(key).isdigit():
                raise serializers.ValidationError(
                    {"versions": [_("A valid integer is required.")]})
            versions[int(key)] = version
        record = merging.customer_merge(
            actor=request.user, survivor=survivor, merged=data["merged"],
            reason=data["reason"], field_choices=data["field_choices"],
            expected_versions=versions or None)
        return Response(MergeRecordSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=MergeRecordSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def merges(self, request: Request, pk=None) -> Response:
        """The merges into this customer, newest first: who, when, why, what moved."""
        records = merging.merge_records_for(viewer=request.user, customer=self.get_object())
        return Response(MergeRecordSerializer(records, many=True).data)

    # --- interactions -----------------------------------------------------------------------
    @extend_schema(methods=["get"], responses=InteractionSerializer(many=True))
    @extend_schema(methods=["post"], request=InteractionSerializer,
                   responses={201: InteractionSerializer})
    @action(detail=True, methods=["get", "post"])
    def interactions(self, request: Request, pk=None) -> Response:
        """The customer's interactions, newest first (cursor pages); POST logs one."""
        customer = self.get_object()
        context = self.get_serializer_context()
        if request.method == "POST":
            return _log_interaction(request, customer, InteractionSerializer(
                data=request.data, context=context))
        rows = (Interaction.objects.filter(customer=customer).select_related("user")
                .order_by("-occurred_at", "-id"))
        paginator = InteractionPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(
            InteractionSerializer(page, many=True, context=context).data)


def _log_interaction(request: Request, customer: Customer,
                     body: serializers.Serializer) -> Response:
    body.is_valid(raise_exception=True)
    data = body.validated_data
    interaction = services.interaction_log(
        actor=request.user, customer=customer, kind=data["kind"],
        occurred_at=data.get("occurred_at"), outcome=data.get("outcome", ""),
        notes=data.get("notes", ""), next_follow_up_at=data.get("next_follow_up_at"),
        project=data.get("project"))
    return Response(InteractionSerializer(interaction, context={"request": request}).data,
                    status=status.HTTP_201_CREATED)


class InteractionPagination(AnjuCursorPagination):
    ordering = ("-occurred_at", "-id")


class InteractionViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, AnjuGenericViewSet):
    """Interactions with the customers the caller may see (`?customer=` narrows to one);
    POST logs one (the customer in the body); `POST /{id}/done/` closes its follow-up."""

    serializer_class = InteractionSerializer
    pagination_class = InteractionPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Interaction.objects.none()
        visible = Customer.objects.visible_to(self.request.user).values("pk")
        rows = Interaction.objects.filter(customer__in=visible).select_related("user")
        customer = self.request.query_params.get("customer")
        if customer:
            if not customer.isdigit():
                raise serializers.ValidationError(
                    {"customer": [_("A valid integer is required.")]})
            rows = rows.filter(customer_id=int(customer))
        return rows

    def get_serializer_class(self):
        return InteractionCreateSerializer if self.action == "create" else InteractionSerializer

    @extend_schema(request=InteractionCreateSerializer, responses={201: InteractionSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        body = InteractionCreateSerializer(data=request.data,
                                           context=self.get_serializer_context())
        if "customer" not in request.data:
            raise serializers.ValidationError({"customer": [_("This field is required.")]})
        body.is_valid(raise_exception=True)
        return _log_interaction(request, body.validated_data["customer"], body)

    @extend_schema(request=None, responses=InteractionSerializer)
    @action(detail=True, methods=["post"])
    def done(self, request: Request, pk=None) -> Response:
        """Marks the follow-up this interaction promised as done."""
        interaction = services.follow_up_done(actor=request.user, interaction=int(pk))
        return Response(InteractionSerializer(interaction,
                                              context=self.get_serializer_context()).data)


class DuplicateViewSet(AnjuGenericViewSet):
    """Duplicate candidates for data stewards (`may_merge`): pairs in the caller's scope that
    look like one person, with the rules they meet; keyset pages (`next`)."""

    serializer_class = DuplicatePairSerializer
    pagination_class = None

    def get_queryset(self):
        return Customer.objects.none()

    def _steward(self, request: Request) -> None:
        if not merging.may_merge(request.user):
            raise PermissionDenied(_("Only data stewards may review duplicates."))

    @extend_schema(parameters=[DuplicateQuerySerializer], responses=DuplicatePageSerializer)
    def list(self, request: Request) -> Response:
        self._steward(request)
        params = DuplicateQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        kind = data.get("kind")
        if kind and kind not in duplicates.KINDS:
            raise serializers.ValidationError({"kind": [_("Select a valid choice.")]})
        page = duplicates.duplicate_candidates(viewer=request.user, kind=kind,
                                               cursor=data.get("cursor"),
                                               limit=data["page_size"])
        next_url = (replace_query_param(request.build_absolute_uri(), "cursor",
                                        page.next_cursor) if page.next_cursor else None)
        pairs = DuplicatePairSerializer(page.pairs, many=True,
                                        context=self.get_serializer_context()).data
        return Response({"next": next_url, "found_at": page.found_at, "results": pairs})

    @extend_schema(request=DuplicateDismissSerializer, responses={204: None})
    @action(detail=False, methods=["post"])
    def dismiss(self, request: Request) -> Response:
        """"Not the same person": the pair is no longer offered."""
        self._steward(request)
        body = DuplicateDismissSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        merging.duplicate_dismiss(actor=request.user, **body.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AnjuGenericViewSet):
    """Excel/CSV imports: upload (multipart) -> preview and column mapping -> start (runs in
    the background) -> poll the job for progress -> download the rejected rows."""

    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ImportJob.objects.none()
        return import_selectors.import_job_list(viewer=self.request.user).order_by("-id")

    @extend_schema(request={"multipart/form-data": ImportUploadSerializer},
                   responses={201: ImportJobSerializer})
    def create(self, request: Request) -> Response:
        """Stores the file and proposes a column mapping from its headers; imports nothing."""
        body = ImportUploadSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        job = import_services.import_job_create(
            actor=request.user, language=translation.get_language() or "zh-hans",
            upload=body.validated_data["file"], **{
                key: body.validated_data[key] for key in ("company", "project", "owner")})
        return Response(ImportJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=ImportPreviewSerializer)
    @action(detail=True, methods=["get"])
    def preview(self, request: Request, pk=None) -> Response:
        """The first rows as they would be imported: ok, duplicate, or rejected with reasons."""
        job = self.get_object()
        seen = import_selectors.import_job_seen_before(job=job)
        rows = import_selectors.import_preview(job=job)
        return Response(ImportPreviewSerializer({
            "job": job, "rows": rows, "seen_before": seen.pk if seen else None}).data)

    @extend_schema(request=ImportMappingSerializer, responses=ImportJobSerializer)
    @action(detail=True, methods=["put"])
    def mapping(self, request: Request, pk=None) -> Response:
        """Says which column holds which field (for headers that are not the usual ones)."""
        body = ImportMappingSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = import_services.import_job_set_mapping(
            actor=request.user, job=self.get_object(), columns=body.validated_data["columns"])
        return Response(ImportJobSerializer(job).data)

    @extend_schema(request=None, responses={202: ImportJobSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk=None) -> Response:
        """Queues the import; poll the job for `progress`."""
        job = import_services.import_job_start(actor=request.user, job=self.get_object())
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: ImportJobSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk=None) -> Response:
        """Queues a failed or stalled import again; it carries on after its last chunk."""
        job = import_services.import_job_resume(actor=request.user, job=self.get_object())
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, errorsheet.CONTENT_TYPE): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def rejected(self, request: Request, pk=None) -> FileResponse:
        """The rejected rows as an xlsx: the file's columns, the reason, the row number."""
        job = self.get_object()
        return FileResponse(errorsheet.error_sheet(job), as_attachment=True,
                            filename=errorsheet.error_sheet_filename(job),
                            content_type=errorsheet.CONTENT_TYPE)


class TagDimensionViewSet(mixins.ListModelMixin, AnjuGenericViewSet):
    """Tag dimensions (customer type, need, stage...) with their tags, as admins define them."""

    serializer_class = TagDimensionSerializer
    pagination_class = None

    def get_queryset(self):
        return TagDimension.objects.prefetch_related(
            Prefetch("tags", queryset=Tag.objects.order_by("name")))


class TagViewSet(mixins.ListModelMixin, AnjuGenericViewSet):
    """Every tag (`?dimension=<code>` narrows; `?active=true` only those in use)."""

    serializer_class = TagSerializer
    pagination_class = None

    def get_queryset(self):
        rows = Tag.objects.select_related("dimension").order_by("dimension__order", "name")
        params = getattr(self.request, "query_params", {})
        if params.get("dimension"):
            rows = rows.filter(dimension__code=params["dimension"])
        if params.get("active") in ("1", "true", "yes"):
            rows = rows.filter(is_active=True)
        return rows


def register(router: DefaultRouter) -> None:
    """Adds customers, phones, tags, interactions, search, duplicates, merge and imports."""
    router.register("customers", CustomerViewSet, basename="customer")
    router.register("interactions", InteractionViewSet, basename="interaction")
    router.register("tag-dimensions", TagDimensionViewSet, basename="tag-dimension")
    router.register("tags", TagViewSet, basename="tag")
    router.register("duplicates", DuplicateViewSet, basename="duplicate")
    router.register("imports", ImportJobViewSet, basename="import")
