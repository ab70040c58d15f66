"""The customer ledger (客户台帐): one row per person, whatever their stage.

Search keys (`CustomerSearchTerm`) and the denormalised columns on `Customer`
(`last_contact_at`, `marketing_consent`, `primary_phone`) are written only by
`services.py`, in the same transaction as the change that makes them stale."""

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, When
from django.utils.translation import gettext_lazy as _

from anju.accounts.models import Company, Project
from anju.core.fields import EncryptedTextField, LookupHashField
from anju.core.models import TimeStampedModel, VersionedModel
from anju.core.scoping import ScopedQuerySet, ScopeSpec


class Gender(models.TextChoices):
    UNKNOWN = "", _("unknown")
    MALE = "male", _("male")
    FEMALE = "female", _("female")


class Stage(models.TextChoices):
    POTENTIAL = "potential", _("potential")
    PROSPECT = "prospect", _("prospect")
    BUYER = "buyer", _("buyer")
    OWNER = "owner", _("owner")
    MEMBER = "member", _("member")
    LOST = "lost", _("lost")


class Tier(models.TextChoices):
    VIP = "vip", _("VIP")
    KEY = "key", _("key")
    ORDINARY = "ordinary", _("ordinary")
    POTENTIAL = "potential", _("potential")


# The tier in force (set by hand, else computed by the rules) as SQL. The list's tier filter
# and the index `customer_tier_in_force_idx` are built from this one expression, so the
# database matches the filter to the index (an expression index instead of a stored column:
# nothing has to write it, so no bulk insert — import, bench data — can leave it stale).
TIER_IN_FORCE = Case(When(tier_override="", then=F("tier")), default=F("tier_override"))


class IncomeBand(models.TextChoices):
    UNKNOWN = "", _("unknown")
    BELOW_10W = "lt10", _("below ¥100k a year")
    FROM_10W_TO_30W = "10-30", _("¥100k–300k a year")
    FROM_30W_TO_100W = "30-100", _("¥300k–1M a year")
    ABOVE_100W = "gt100", _("above ¥1M a year")


class Customer(VersionedModel):
    scope = ScopeSpec(owner="owner", project="project", company="company")

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="customers",
                                verbose_name=_("company"))
    project = models.ForeignKey(Project, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="customers", verbose_name=_("main project"))
    interested_projects = models.ManyToManyField(Project, blank=True, related_name="+",
                                                 verbose_name=_("projects of interest"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="owned_customers",
                              verbose_name=_("owning consultant"))

    name = models.CharField(_("name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    id_number = EncryptedTextField(_("ID card number"), blank=True)
    id_number_hash = LookupHashField(source="id_number")
    primary_phone = models.CharField(_("mobile phone"), max_length=32, blank=True)
    occupation = models.CharField(_("occupation"), max_length=100, blank=True)
    income_band = models.CharField(_("income band"), max_length=8, choices=IncomeBand.choices,
                                   blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    source_channel = models.CharField(_("source channel"), max_length=64, blank=True,
                                      db_index=True)

    stage = models.CharField(_("lifecycle stage"), max_length=16, choices=Stage.choices,
                             default=Stage.POTENTIAL)
    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices,
                            default=Tier.POTENTIAL)
    tier_reason = models.CharField(_("why this tier"), max_length=200, blank=True)
    tier_override = models.CharField(_("tier set by hand"), max_length=16,
                                     choices=Tier.choices, blank=True)
    tier_override_reason = models.CharField(_("why set by hand"), max_length=200, blank=True)
    tier_override_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                         null=True, blank=True, related_name="+")
    tier_override_at = models.DateTimeField(null=True, blank=True)
    lifetime_value_wan = models.DecimalField(_("value (万元)"), max_digits=12,
                                             decimal_places=2, default=0)

    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="merged_from",
                                    verbose_name=_("merged into"))

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(fields=["id_number_hash"], condition=~Q(id_number_hash=""),
                                    name="customer_id_number_unique"),
        ]
        indexes = [
            models.Index(fields=["owner", "-id"], name="customer_owner_idx"),
            models.Index(fields=["project", "-id"], name="customer_project_idx"),
            models.Index(fields=["company", "-id"], name="customer_company_idx"),
            models.Index(fields=["tier", "-id"], name="customer_tier_idx"),
            # the list filtered by tier: its page (by id) and its capped count (not partial:
            # PostgreSQL keeps statistics of an indexed expression for whole indexes only)
            models.Index(TIER_IN_FORCE, F("id").desc(), name="customer_tier_in_force_idx"),
            models.Index(fields=["stage", "-id"], name="customer_stage_idx"),
            models.Index(fields=["last_contact_at", "id"], name="customer_last_contact_idx"),
            # duplicate candidates join customers on their name (merge engineer)
            models.Index(fields=["name", "id"], name="customer_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tier_in_force(self) -> str:
        return self.tier_override or self.tier


class CustomerPhone(TimeStampedModel):
    """A phone number of one customer, E.164; one number belongs to one person only."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones",
                                 verbose_name=_("customer"))
    e164 = models.CharField(_("phone"), max_length=32, unique=True)
    last4 = models.CharField(max_length=4, db_index=True)
    label = models.CharField(_("label"), max_length=20, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        verbose_name = _("phone")
        verbose_name_plural = _("phones")
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=Q(is_primary=True),
                                    name="one_primary_phone_per_customer"),
        ]

    def __str__(self) -> str:
        return self.e164


class CustomerSearchTerm(models.Model):
    """Index rows that make one search box fast on both databases: the suffixes of the name
    (any fragment, 2-character ones included, which trigram indexes cannot serve, is then one
    prefix-range probe), each full pinyin reading and the initials (also by prefix range).
    Compared by code point: the column's collation is "C" on PostgreSQL (migration 0005)."""

    class Kind(models.TextChoices):
        NAME_FRAGMENT = "n", _("name fragment")
        PINYIN = "p", _("pinyin")
        INITIALS = "i", _("initials")

    # No foreign-key constraint in the database: its check on every row (a parent-row lock)
    # doubled the cost of writing terms, five a person, in an import. The rows are an index
    # the services rewrite in the customer's own transaction; Django still deletes them
    # with the customer (CASCADE), and the merge drops and rewrites them.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, db_constraint=False,
                                 related_name="search_terms")
    kind = models.CharField(max_length=1, choices=Kind.choices)
    term = models.CharField(max_length=64)
    # The customer's owner, copied (rewritten with the terms whenever the owner changes), so
    # a consultant's search reads only their own people's terms, in index order.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, db_constraint=False, db_index=False,
                              related_name="+")

    class Meta:
        # Few indexes: an import writes about six of these rows a person, and each index
        # costs about as much as the row. The customer index (the foreign key's) serves
        # rewrites and merges; the other two the search, for everyone and per owner.
        indexes = [models.Index(fields=["kind", "term", "customer"],
                                name="customer_search_kind_term_idx"),
                   models.Index(fields=["kind", "owner", "term", "customer"],
                                name="customer_search_owner_term_idx")]

    def __str__(self) -> str:
        return self.term


class CustomerNeed(TimeStampedModel):
    class Purpose(models.TextChoices):
        UNKNOWN = "", _("unknown")
        FIRST_HOME = "first_home", _("first home")
        UPGRADE = "upgrade", _("upgrade")
        INVESTMENT = "investment", _("investment")
        FOR_PARENTS = "for_parents", _("for parents")

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="need")
    budget_min_wan = models.DecimalField(_("budget from (万元)"), max_digits=10,
                                         decimal_places=2, null=True, blank=True)
    budget_max_wan = models.DecimalField(_("budget to (万元)"), max_digits=10,
                                         decimal_places=2, null=True, blank=True)
    area_min = models.DecimalField(_("area from (m²)"), max_digits=8, decimal_places=2,
                                   null=True, blank=True)
    area_max = models.DecimalField(_("area to (m²)"), max_digits=8, decimal_places=2,
                                   null=True, blank=True)
    rooms = models.JSONField(_("rooms"), default=list, blank=True)
    unit_types = models.JSONField(_("unit types"), default=list, blank=True)
    districts = models.JSONField(_("districts"), default=list, blank=True)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices,
                               blank=True)
    notes = models.TextField(_("notes"), blank=True)

    def __str__(self) -> str:
        return f"need of {self.customer_id}"


class HouseholdMember(TimeStampedModel):
    class Relation(models.TextChoices):
        SPOUSE = "spouse", _("spouse")
        CHILD = "child", _("child")
        PARENT = "parent", _("parent")
        OTHER = "other", _("other")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="household")
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices)
    related_customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True,
                                         blank=True, related_name="+",
                                         verbose_name=_("related customer"))
    name = models.CharField(_("name"), max_length=50, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.get_relation_display()}: {self.name}"


class TagDimension(models.Model):
    """A way of tagging (customer type, need, stage...), defined by admins."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=50)
    allows_many = models.BooleanField(_("several tags per customer"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("tag dimension")
        verbose_name_plural = _("tag dimensions")

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    dimension = models.ForeignKey(TagDimension, on_delete=models.PROTECT, related_name="tags",
                                  verbose_name=_("dimension"))
    name = models.CharField(_("name"), max_length=50)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["dimension__order", "name"]
        constraints = [models.UniqueConstraint(fields=["dimension", "name"],
                                               name="tag_name_unique_in_dimension")]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class CustomerTag(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey(Tag, on_delete=models.PROTECT, related_name="customer_links")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                 null=True, blank=True, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "tag"],
                                               name="customer_tag_unique")]
        indexes = [models.Index(fields=["tag", "customer"], name="customer_tag_by_tag_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.tag_id}"


class ConsentRecord(models.Model):
    """Append-only history of marketing consent (PIPL): granted or withdrawn, with wording."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    granted = models.BooleanField(_("granted"))
    wording_version = models.CharField(_("wording version"), max_length=32)
    source = models.CharField(_("how it was given"), max_length=64, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer_id}: {'granted' if self.granted else 'withdrawn'}"


class Interaction(models.Model):
    """Every call, visit and message, with the next follow-up it promised."""

    class Kind(models.TextChoices):
        CALL = "call", _("call")
        VISIT = "visit", _("visit")
        REVISIT = "revisit", _("revisit")
        WECHAT = "wechat", _("WeChat")
        SMS = "sms", _("SMS")
        MEETING = "meeting", _("meeting")
        EMAIL = "email", _("email")
        EVENT = "event", _("event")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE,
                                 related_name="interactions", verbose_name=_("customer"))
    project = models.ForeignKey(Project, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+", verbose_name=_("project"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                             related_name="interactions", verbose_name=_("by"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("when"))
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    next_follow_up_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    follow_up_done_at = models.DateTimeField(_("follow-up done"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"],
                         name="interaction_timeline_idx"),
            models.Index(fields=["user", "next_follow_up_at"],
                         condition=Q(follow_up_done_at__isnull=True,
                                     next_follow_up_at__isnull=False),
                         name="interaction_follow_up_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"


class TierRule(models.Model):
    """Configurable tiering: the first rule (by order) whose thresholds a customer meets wins."""

    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    min_value_wan = models.DecimalField(_("value at least (万元)"), max_digits=12,
                                        decimal_places=2, default=0)
    min_interactions = models.PositiveIntegerField(_("interactions at least"), default=0)
    within_days = models.PositiveIntegerField(_("counted over the last days"), default=90)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("tier rule")
        verbose_name_plural = _("tier rules")

    def __str__(self) -> str:
        return f"{self.get_tier_display()} #{self.order}"


class SavedFilter(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="customer_filters")
    name = models.CharField(_("name"), max_length=50)
    query = models.CharField(_("filters"), max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"],
                                               name="saved_filter_name_unique_per_user")]

    def __str__(self) -> str:
        return self.name


class MergeRecord(models.Model):
    """Explains a merge afterwards: who, when, why, the merged record as it was, what moved."""

    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges")
    merged = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    merged_snapshot = models.JSONField()
    moved = models.JSONField(default=dict)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    merged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-merged_at", "-id"]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.survivor_id}"


class DuplicateDismissal(models.Model):
    """A pair of customers a data steward judged "not the same person": no longer offered as a
    duplicate candidate. Stored once per pair, lower id first."""

    first = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    note = models.CharField(_("note"), max_length=200, blank=True)
    dismissed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="+")
    dismissed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["first", "second"],
                                    name="duplicate_dismissal_unique_pair"),
            models.CheckConstraint(condition=Q(first__lt=models.F("second")),
                                   name="duplicate_dismissal_ordered_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.first_id} ≠ {self.second_id}"


class DuplicateCandidate(models.Model):
    """A pair the duplicate rules found in the whole ledger at the last scan
    (`duplicates.duplicate_scan`, every 30 minutes): the stewards' page reads these, in
    scope, live and not dismissed, instead of grouping the ledger on every page. Lower id
    first; one row per rule the pair meets. No foreign-key constraint: a scan writes many
    rows at once, and the read joins the customers anyway."""

    first = models.ForeignKey(Customer, on_delete=models.DO_NOTHING, related_name="+",
                              db_constraint=False)
    second = models.ForeignKey(Customer, on_delete=models.DO_NOTHING, related_name="+",
                               db_constraint=False)
    kind = models.CharField(max_length=24)

    class Meta:
        # also the pages' keyset walk, in (first, second) order
        constraints = [models.UniqueConstraint(fields=["first", "second", "kind"],
                                               name="duplicate_candidate_once")]

    def __str__(self) -> str:
        return f"{self.first_id} ~ {self.second_id} ({self.kind})"


class DuplicateScan(models.Model):
    """When the duplicate candidates were last found, how many, and how long it took (one
    row per scan; the newest is in force)."""

    finished_at = models.DateTimeField(_("found at"))
    pairs = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-finished_at"]

    def __str__(self) -> str:
        return f"{self.finished_at:%Y-%m-%d %H:%M} ({self.pairs})"


class ImportJob(TimeStampedModel):
    """One uploaded file on its way into the ledger; resumable chunk by chunk."""

    class State(models.TextChoices):
        UPLOADED = "uploaded", _("uploaded")
        PREVIEWED = "previewed", _("previewed")
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="customer_imports")
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    file = models.FileField(upload_to="imports/customers/%Y/%m/")
    original_name = models.CharField(max_length=200)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    file_format = models.CharField(max_length=8)
    mapping = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=State.choices, default=State.UPLOADED)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.original_name


class ImportRejectedRow(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rejected_rows")
    row_number = models.PositiveIntegerField()
    values = models.JSONField()
    reasons = models.JSONField()

    class Meta:
        ordering = ["row_number"]
        constraints = [models.UniqueConstraint(fields=["job", "row_number"],
                                               name="import_rejected_row_unique")]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.row_number}"
