"""The ledger's JSON shapes. Parsing and rendering only: every rule (dedup, versions, rights,
tier, consent) lives in `services.py`; these serializers hand validated data to it.

Phones and ID numbers always go out masked through the kernel's masked fields; a user with the
unmask right asks `?unmask=phone` (or `id_number`) and each reveal is logged."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from anju.accounts.models import Company, Project, User
from anju.core.api.audit_api import AuditEntrySerializer
from anju.core.api.base import VersionedSerializerMixin
from anju.core.api.sensitive_api import MaskedIdNumberField, MaskedPhoneField

from .models import (
    ConsentRecord,
    Customer,
    CustomerNeed,
    CustomerPhone,
    Gender,
    HouseholdMember,
    ImportJob,
    IncomeBand,
    Interaction,
    MergeRecord,
    Stage,
    Tag,
    TagDimension,
    Tier,
)
from .selectors import PAGE_SIZE, SORTS


def _scope_relations(serializer: serializers.Serializer) -> None:
    """Related rows a user may name are those in their scope (others read as "not found")."""
    request = serializer.context.get("request")
    if request is None:
        return
    user = request.user
    fields = serializer.fields
    if "project" in fields and not fields["project"].read_only:
        fields["project"].queryset = Project.objects.visible_to(user)
    if "interested_projects" in fields and not fields["interested_projects"].read_only:
        fields["interested_projects"].child_relation.queryset = Project.objects.visible_to(user)
    if "owner" in fields and not fields["owner"].read_only:
        fields["owner"].queryset = User.objects.visible_to(user).filter(is_active=True)


# --- small pieces ---------------------------------------------------------------------------
class PhoneSerializer(serializers.ModelSerializer):
    phone = MaskedPhoneField(source="e164", read_only=True)

    class Meta:
        model = CustomerPhone
        fields = ["id", "customer", "phone", "last4", "label", "is_primary"]
        read_only_fields = fields


class PhoneWriteSerializer(serializers.Serializer):
    phone = MaskedPhoneField(help_text=_("Any format: 13800138000, +86 138 0013 8000..."))
    label = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    is_primary = serializers.BooleanField(required=False, default=False)


class TagSerializer(serializers.ModelSerializer):
    dimension_code = serializers.CharField(source="dimension.code", read_only=True)
    dimension_name = serializers.CharField(source="dimension.name", read_only=True)

    class Meta:
        model = Tag
        fields = ["id", "name", "dimension", "dimension_code", "dimension_name", "is_active"]
        read_only_fields = fields


class TagInDimensionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "is_active"]
        read_only_fields = fields


class TagDimensionSerializer(serializers.ModelSerializer):
    tags = TagInDimensionSerializer(many=True, read_only=True)

    class Meta:
        model = TagDimension
        fields = ["id", "code", "name", "allows_many", "order", "tags"]
        read_only_fields = fields


class NeedSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerNeed
        fields = ["budget_min_wan", "budget_max_wan", "area_min", "area_max", "rooms",
                  "unit_types", "districts", "purpose", "notes"]


class HouseholdMemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = HouseholdMember
        fields = ["id", "relation", "name", "related_customer", "note"]
        read_only_fields = fields


class ConsentSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConsentRecord
        fields = ["id", "granted", "wording_version", "source", "recorded_by", "recorded_at"]
        read_only_fields = fields


class ConsentWriteSerializer(serializers.Serializer):
    granted = serializers.BooleanField()
    wording_version = serializers.CharField(max_length=32)
    source = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class TierOverrideSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=Tier.choices, allow_blank=True,
                                   help_text=_("Empty: back to the computed tier."))
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                   default="")


class TagsWriteSerializer(serializers.Serializer):
    tags = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Tag.objects.filter(is_active=True).select_related("dimension"))


# --- customers ------------------------------------------------------------------------------
class CustomerListSerializer(serializers.ModelSerializer):
    """One row of the list: what the ledger page shows, masked."""

    phone = MaskedPhoneField(source="primary_phone", read_only=True)
    tier = serializers.CharField(source="tier_in_force", read_only=True)
    owner_name = serializers.CharField(source="owner.display_name", read_only=True,
                                       default="")
    project_name = serializers.CharField(source="project.name", read_only=True, default="")

    class Meta:
        model = Customer
        fields = ["id", "name", "gender", "phone", "stage", "tier", "owner", "owner_name",
                  "project", "project_name", "source_channel", "last_contact_at",
                  "marketing_consent", "version"]
        read_only_fields = fields


class InteractionSerializer(serializers.ModelSerializer):
    user_name = serializers.CharField(source="user.display_name", read_only=True, default="")

    class Meta:
        model = Interaction
        fields = ["id", "customer", "kind", "occurred_at", "outcome", "notes", "project",
                  "user", "user_name", "next_follow_up_at", "follow_up_done_at", "created_at"]
        read_only_fields = ["id", "customer", "user", "user_name", "follow_up_done_at",
                            "created_at"]
        extra_kwargs = {"occurred_at": {"required": False, "help_text": _("Default: now")}}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "project" in self.fields:
            self.fields["project"].queryset = Project.objects.visible_to(request.user)


class InteractionCreateSerializer(InteractionSerializer):
    """POST /interactions/: the customer is named in the body (or by the nested URL)."""

    class Meta(InteractionSerializer.Meta):
        read_only_fields = ["id", "user", "user_name", "follow_up_done_at", "created_at"]
        extra_kwargs = {"customer": {"required": True},
                        "occurred_at": {"required": False, "help_text": _("Default: now")}}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "customer" in self.fields:
            self.fields["customer"].queryset = Customer.objects.visible_to(request.user)


class CustomerDetailSerializer(VersionedSerializerMixin, serializers.ModelSerializer):
    """One customer's own columns: the `customer` of the 360° data, the PATCH body (only the
    writable fields count) and the PATCH response."""

    phone = MaskedPhoneField(source="primary_phone", read_only=True)
    id_number = MaskedIdNumberField(required=False, allow_blank=True)
    tier_in_force = serializers.CharField(read_only=True)
    tier_override = serializers.CharField(read_only=True, help_text=_(
        "A tier set by hand (empty: the computed tier is in force)"))
    owner_name = serializers.CharField(source="owner.display_name", read_only=True,
                                       default="")
    project_name = serializers.CharField(source="project.name", read_only=True, default="")
    owner = serializers.PrimaryKeyRelatedField(required=False, allow_null=True,
                                               queryset=User.objects.none())
    project = serializers.PrimaryKeyRelatedField(required=False, allow_null=True,
                                                 queryset=Project.objects.none())

    class Meta:
        model = Customer
        fields = ["id", "name", "gender", "birthday", "phone", "id_number", "occupation",
                  "income_band", "address", "source_channel", "company", "project",
                  "project_name", "owner", "owner_name", "stage", "tier", "tier_reason",
                  "tier_override", "tier_override_reason", "tier_override_by",
                  "tier_override_at", "tier_in_force", "lifetime_value_wan",
                  "marketing_consent", "last_contact_at", "merged_into", "created_at",
                  "updated_at", "version"]
        read_only_fields = ["id", "company", "tier", "tier_reason", "tier_override_reason",
                            "tier_override_by", "tier_override_at", "lifetime_value_wan",
                            "marketing_consent", "last_contact_at", "merged_into",
                            "created_at", "updated_at"]
        validators: list = []  # uniqueness is the service's (dedup at the door)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _scope_relations(self)


class CustomerTagLinkSerializer(serializers.Serializer):
    """A tag on a customer (from a CustomerTag row with its tag and dimension)."""

    id = serializers.IntegerField(source="tag.id")
    name = serializers.CharField(source="tag.name")
    dimension = serializers.IntegerField(source="tag.dimension_id")
    dimension_code = serializers.CharField(source="tag.dimension.code")
    dimension_name = serializers.CharField(source="tag.dimension.name")
    added_at = serializers.DateTimeField()


class SectionSerializer(serializers.Serializer):
    """A block other apps add to the 360° page (deals, tickets, points...)."""

    key = serializers.CharField()
    title = serializers.CharField()
    order = serializers.IntegerField()


class Customer360Serializer(serializers.Serializer):
    """Everything the 360° page shows, from `selectors.customer_get_360`. The timeline holds
    the latest interactions (see `/customers/{id}/interactions/` for all of them); `audit` is
    the record's change history, for viewers who may read the audit trail (else empty)."""

    customer = CustomerDetailSerializer()
    phones = PhoneSerializer(many=True)
    need = NeedSerializer(allow_null=True)
    tags = CustomerTagLinkSerializer(many=True)
    household = HouseholdMemberSerializer(many=True)
    consents = ConsentSerializer(many=True)
    interested_projects = serializers.SerializerMethodField()
    interactions = InteractionSerializer(many=True)
    audit = AuditEntrySerializer(many=True)
    sections = SectionSerializer(many=True)

    def get_interested_projects(self, data) -> list[dict]:
        return [{"id": project.pk, "name": project.name}
                for project in data.interested_projects]


class CustomerListPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CustomerListSerializer(many=True)


class CustomerListQuerySerializer(serializers.Serializer):
    """The list's filters, sort and keyset cursor (the same as the ledger page's)."""

    tier = serializers.ChoiceField(choices=Tier.choices, required=False)
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    tag = serializers.IntegerField(min_value=1, required=False)
    owner = serializers.IntegerField(min_value=1, required=False)
    project = serializers.IntegerField(min_value=1, required=False)
    channel = serializers.CharField(max_length=64, required=False)
    contact_before = serializers.DateField(required=False)
    contact_after = serializers.DateField(required=False)
    consent = serializers.BooleanField(required=False, allow_null=True, default=None)
    sort = serializers.ChoiceField(choices=[(key, key) for key in SORTS], required=False,
                                   default="-id")
    cursor = serializers.CharField(max_length=500, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False,
                                         default=PAGE_SIZE)

    def validate(self, attrs: dict) -> dict:
        before, after = attrs.get("contact_before"), attrs.get("contact_after")
        if before and after and after > before:
            raise serializers.ValidationError(
                {"contact_before": [_("The end date is before the start date.")]})
        return attrs


class CustomerCreateSerializer(serializers.Serializer):
    """POST /customers/: a new person; the service checks the door (phones, ID) first. Name,
    phones and ID number are checked by the service, which reports every bad field at once."""

    name = serializers.CharField(max_length=200, allow_blank=True)
    phones = serializers.ListField(
        child=serializers.CharField(max_length=64, allow_blank=True), max_length=10,
        help_text=_("Any format; the first one is the primary phone."))
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True,
                                     default="")
    birthday = serializers.DateField(required=False, allow_null=True, default=None)
    id_number = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                      default="")
    occupation = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                       default="")
    income_band = serializers.ChoiceField(choices=IncomeBand.choices, required=False,
                                          allow_blank=True, default="")
    address = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                    default="")
    source_channel = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                           default="")
    stage = serializers.ChoiceField(choices=Stage.choices, required=False,
                                    default=Stage.POTENTIAL)
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.none(),
                                                 required=False, allow_null=True, default=None)
    interested_projects = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Project.objects.none())
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.none(), required=False,
                                               allow_null=True, default=None)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _scope_relations(self)


class DuplicateExistingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    visible = serializers.BooleanField()
    name = serializers.CharField(required=False)


class DuplicateResponseSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    existing = DuplicateExistingSerializer()


# --- search, duplicates, merge --------------------------------------------------------------
class SearchCustomerSerializer(CustomerListSerializer):
    """A search hit's customer: only the columns the search reads (no deferred loads)."""

    class Meta(CustomerListSerializer.Meta):
        fields = ["id", "name", "gender", "phone", "stage", "tier", "owner", "owner_name",
                  "project", "project_name", "last_contact_at"]
        read_only_fields = fields


class SearchHitSerializer(serializers.Serializer):
    customer = SearchCustomerSerializer()
    matched_on = serializers.CharField()
    rank = serializers.FloatField()


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=100, help_text=_(
        "A name or part of it, pinyin, initials, the last 4 digits of a phone, a whole phone "
        "or an ID number"))
    limit = serializers.IntegerField(min_value=1, max_value=100, required=False, default=20)


class MergeRequestSerializer(serializers.Serializer):
    merged = serializers.IntegerField(min_value=1, help_text=_(
        "The customer that is folded into this one and disappears"))
    reason = serializers.CharField(max_length=200, allow_blank=True)
    field_choices = serializers.DictField(
        child=serializers.ChoiceField(choices=[("survivor", "survivor"), ("merged", "merged")]),
        required=False, default=dict,
        help_text=_('Per field, whose value to keep: {"birthday": "merged"}'))
    versions = serializers.DictField(
        child=serializers.IntegerField(min_value=1), required=False, default=dict,
        help_text=_('The versions compared ({"<id>": version}): a record changed since then '
                    "makes the merge fail with 409"))


class MergeRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = MergeRecord
        fields = ["id", "survivor", "merged", "reason", "moved", "merged_by", "merged_at"]
        read_only_fields = fields


# --- imports --------------------------------------------------------------------------------
class ImportJobSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    headers = serializers.SerializerMethodField()
    columns = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = ["id", "original_name", "file_format", "state", "company", "project",
                  "headers", "columns", "total_rows", "processed_rows", "created_count",
                  "duplicate_count", "rejected_count", "progress", "error", "created_at",
                  "started_at", "finished_at"]
        read_only_fields = fields

    def get_progress(self, job: ImportJob) -> float | None:
        """0–100, or null while the row count is not known yet."""
        if job.state == ImportJob.State.DONE:
            return 100.0
        if not job.total_rows:
            return None
        return round(min(100.0, 100.0 * job.processed_rows / job.total_rows), 1)

    def get_headers(self, job: ImportJob) -> list[str]:
        """The file's first row."""
        return list((job.mapping or {}).get("headers", []))

    def get_columns(self, job: ImportJob) -> dict[str, str]:
        """Column index ("0", "1"...) -> ledger field ("" ignores the column)."""
        return dict((job.mapping or {}).get("columns", {}))


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_("An .xlsx or .csv file"))
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.none(),
                                                 required=False, allow_null=True, default=None)
    company = serializers.PrimaryKeyRelatedField(queryset=Company.objects.none(),
                                                 required=False, allow_null=True, default=None)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.none(), required=False,
                                               allow_null=True, default=None, help_text=_(
                                                   "Who owns the imported customers "
                                                   "(default: you)"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _scope_relations(self)
        request = self.context.get("request")
        if request is not None:
            self.fields["company"].queryset = Company.objects.visible_to(request.user)


class ImportMappingSerializer(serializers.Serializer):
    columns = serializers.DictField(
        child=serializers.CharField(allow_blank=True), help_text=_(
            'Column index -> ledger field, e.g. {"0": "name", "1": "phone", "2": ""}'))


class ImportPreviewRowSerializer(serializers.Serializer):
    row_number = serializers.IntegerField()
    values = serializers.ListField(child=serializers.CharField(allow_blank=True))
    status = serializers.ChoiceField(choices=[("ok", "ok"), ("duplicate", "duplicate"),
                                              ("rejected", "rejected")])
    reasons = serializers.ListField(child=serializers.CharField())


class ImportPreviewSerializer(serializers.Serializer):
    job = ImportJobSerializer()
    rows = ImportPreviewRowSerializer(many=True)
    seen_before = serializers.IntegerField(allow_null=True, help_text=_(
        "An earlier finished import of the same file (it would create nothing new)"))


class DuplicatePairSerializer(serializers.Serializer):
    key = serializers.CharField()
    first = SearchCustomerSerializer()
    second = SearchCustomerSerializer()
    kinds = serializers.ListField(child=serializers.CharField())
    reasons = serializers.ListField(child=serializers.CharField())


class DuplicatePageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    found_at = serializers.DateTimeField(
        allow_null=True, help_text="when the stored pairs were found (the ledger is searched "
                                   "every 30 minutes); null: found for this answer")
    results = DuplicatePairSerializer(many=True)


class DuplicateQuerySerializer(serializers.Serializer):
    kind = serializers.CharField(required=False, max_length=32)
    cursor = serializers.CharField(required=False, max_length=50)
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False,
                                         default=50)


class DuplicateDismissSerializer(serializers.Serializer):
    first = serializers.IntegerField(min_value=1)
    second = serializers.IntegerField(min_value=1)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
