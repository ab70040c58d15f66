"""Demo data of the ledger: customers across every stage and tier, with phones, ID numbers,
needs, tags, interactions (some follow-ups due today or overdue), consent, and a couple of
deliberate near-duplicates for the data stewards' page.

Written in bulk (a demo has no actor to call the services as, and `--size 50` must stay
quick); the columns the services keep in step (`primary_phone`, `last_contact_at`,
`marketing_consent`, search terms) are filled here the same way."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.cn import ric

from anju.accounts.models import Role, User
from anju.core.demo import DemoContext, demo_step
from anju.core.normalise import phone_last4

from . import indexing
from .models import (
    ConsentRecord,
    Customer,
    CustomerNeed,
    CustomerPhone,
    CustomerTag,
    Gender,
    HouseholdMember,
    IncomeBand,
    Interaction,
    Stage,
    Tag,
    TagDimension,
    Tier,
    TierRule,
)
from .services import tier_for

CUSTOMERS_PER_SIZE = 120
CONSENT_WORDING = "2026-01"

# Districts of each demo project's city, and the region code of its ID numbers.
CITY_DISTRICTS = {
    "杭州": ["余杭区", "西湖区", "拱墅区", "滨江区", "萧山区", "上城区"],
    "南京": ["建邺区", "鼓楼区", "玄武区", "秦淮区", "江宁区", "雨花台区"],
    "佛山": ["顺德区", "禅城区", "南海区", "三水区", "高明区"],
}
REGION_CODES = ["330110", "330106", "320105", "320106", "440606", "440604", "110105",
                "310115", "440305", "510107"]

# dimension code, name, allows many, tags
TAG_DIMENSIONS = [
    ("customer_type", "客户类型", True, ["首置客", "改善客", "投资客", "本地客", "外地客"]),
    ("need", "需求", True, ["学区", "地铁", "大平层", "低密度", "精装", "车位"]),
    ("stage", "阶段", False, ["初次接触", "多次来访", "意向强烈", "比价中", "已成交"]),
]

CHANNELS = ["自然来访", "朋友推荐", "老带新", "抖音", "微信朋友圈", "安居客", "中介带看",
            "户外广告", "电话咨询", "房展会"]
OCCUPATIONS = ["教师", "医生", "工程师", "公务员", "个体经营", "企业主", "销售经理",
               "程序员", "会计", "律师", "设计师", "退休"]
UNIT_TYPES = ["两室一厅", "三室两厅", "四室两厅", "复式", "洋房", "大平层"]

# kind, outcomes (Chinese, as consultants write them)
OUTCOMES = {
    Interaction.Kind.CALL: ["电话沟通，客户对三房户型感兴趣", "未接通，稍后再联系",
                            "客户表示近期没时间看房", "约好周末到访"],
    Interaction.Kind.VISIT: ["首次到访，看了样板间", "带家人到访，关注学区",
                             "到访看房，对价格有顾虑"],
    Interaction.Kind.REVISIT: ["复访，重点看了 12 栋", "复访，咨询贷款方案",
                               "复访，带父母一起看房"],
    Interaction.Kind.WECHAT: ["微信发送了户型图", "微信回复优惠政策", "客户微信询问交房时间"],
    Interaction.Kind.SMS: ["短信通知开盘活动", "短信发送认购须知"],
    Interaction.Kind.MEETING: ["与客户面谈付款方式", "和客户夫妻二人面谈，意向明确"],
    Interaction.Kind.EMAIL: ["邮件发送项目资料", "邮件确认合同条款"],
    Interaction.Kind.EVENT: ["参加暖场活动", "参加业主答谢会", "参加样板间开放日"],
}
NOTES = ["", "", "客户比较在意物业费", "预算有上浮空间", "需要和家人商量", "关注车位配比",
         "希望低楼层", "对比了周边两个竞品"]

STAGE_WEIGHTS = [
    (Stage.POTENTIAL, 30), (Stage.PROSPECT, 30), (Stage.BUYER, 12), (Stage.OWNER, 12),
    (Stage.MEMBER, 8), (Stage.LOST, 8),
]


@demo_step(order=20, name="customers: ledger")
def build(ctx: DemoContext) -> None:
    company = ctx.data["company"]
    projects = list(ctx.data["projects"])
    if Customer.objects.filter(company=company).exists():
        ctx.log(_("The demo customers exist already; skipped."))
        return
    tags_by_dimension = _tag_dimensions()
    rules = list(TierRule.objects.filter(is_active=True).order_by("order", "id"))
    consultants = list(User.objects.filter(role__code=Role.Code.SALES_CONSULTANT, is_active=True)
                       .prefetch_related("projects").order_by("id"))
    managers = list(User.objects.filter(role__code=Role.Code.SALES_MANAGER, is_active=True)
                    .order_by("id"))
    by_role = ctx.data.get("users_by_role", {})
    for user in (by_role.get(Role.Code.SALES_CONSULTANT),):
        if user is not None and user not in consultants:
            consultants.append(user)
    owners_by_project = {
        project.pk: [c for c in consultants if project in c.projects.all()] or managers
        for project in projects
    }

    count = max(12, CUSTOMERS_PER_SIZE * max(1, ctx.size))
    now = timezone.now()
    stages = _spread([stage for stage, _weight in STAGE_WEIGHTS],
                     [weight for _stage, weight in STAGE_WEIGHTS], count, ctx)
    used_phones: set[str] = set()
    used_ids: set[str] = set()

    customers: list[Customer] = []
    phone_rows: list[tuple[int, str, str, bool]] = []  # index, e164, label, primary
    for index in range(count):
        project = projects[index % len(projects)]
        owners = owners_by_project[project.pk]
        owner = owners[index % len(owners)] if owners and ctx.random.random() < 0.9 else None
        gender = ctx.random.choice([Gender.MALE, Gender.FEMALE])
        name = ctx.faker.name_male() if gender == Gender.MALE else ctx.faker.name_female()
        birthday = ctx.faker.date_of_birth(minimum_age=23, maximum_age=70)
        id_number = ""
        if ctx.random.random() < 0.4:
            id_number = _id_number(ctx, birthday, gender, used_ids)
        phone = _mobile(ctx, used_phones)
        phone_rows.append((index, phone, "手机", True))
        if ctx.random.random() < 0.2:
            phone_rows.append((index, _mobile(ctx, used_phones), "备用", False))
        stage = stages[index]
        value = _value_for(stage, ctx)
        customers.append(Customer(
            company=company, project=project, owner=owner, name=name, gender=gender,
            birthday=birthday, id_number=id_number, primary_phone=phone,
            occupation=ctx.random.choice(OCCUPATIONS),
            income_band=ctx.random.choice([choice for choice, _label in IncomeBand.choices]),
            address=ctx.faker.address().split(" ")[0][:200],
            source_channel=ctx.random.choice(CHANNELS), stage=stage,
            lifetime_value_wan=value,
        ))
    _add_near_duplicates(ctx, customers, phone_rows, used_phones, company)
    Customer.objects.bulk_create(customers, batch_size=500)
    CustomerPhone.objects.bulk_create(
        [CustomerPhone(customer=customers[index], e164=e164, last4=phone_last4(e164),
                       label=label, is_primary=primary)
         for index, e164, label, primary in phone_rows], batch_size=1000)

    interested, needs, household, tag_links, consents, interactions = [], [], [], [], [], []
    through = Customer.interested_projects.through
    for customer in customers:
        project = customer.project
        interested.append(through(customer_id=customer.pk, project_id=project.pk))
        if ctx.random.random() < 0.25:
            other = ctx.random.choice(projects)
            if other.pk != project.pk:
                interested.append(through(customer_id=customer.pk, project_id=other.pk))
        needs.append(_need(ctx, customer, project))
        if ctx.random.random() < 0.5:
            household.append(HouseholdMember(
                customer=customer, relation=ctx.random.choice(["spouse", "child", "parent"]),
                name=ctx.faker.name(), note=ctx.random.choice(["", "一起看房", "出资人"])))
        tag_links.extend(_tags(ctx, customer, tags_by_dimension))
        if ctx.random.random() < 0.6:
            consents.append(ConsentRecord(customer=customer, granted=True,
                                          wording_version=CONSENT_WORDING,
                                          source="来访登记表", recorded_by=customer.owner))
            customer.marketing_consent = True
        made = _interactions(ctx, customer, now)
        interactions.extend(made)
        if made:
            customer.last_contact_at = max(item.occurred_at for item in made)
        if rules:
            customer.tier, customer.tier_reason = _tier_by_rules(
                rules, customer.lifetime_value_wan, made, now)
        else:
            customer.tier, customer.tier_reason = _tier(customer.lifetime_value_wan, len(made))

    through.objects.bulk_create(interested, batch_size=1000)
    CustomerNeed.objects.bulk_create(needs, batch_size=500)
    HouseholdMember.objects.bulk_create(household, batch_size=500)
    CustomerTag.objects.bulk_create(tag_links, batch_size=1000)
    ConsentRecord.objects.bulk_create(consents, batch_size=500)
    Interaction.objects.bulk_create(interactions, batch_size=1000)
    Customer.objects.bulk_update(
        customers, ["marketing_consent", "last_contact_at", "tier", "tier_reason"],
        batch_size=500)
    # A couple of tier overrides by a manager, with the reason, as the 360 page shows them.
    manager = managers[0] if managers else None
    if manager is not None:
        for customer in customers[5:7]:
            Customer.objects.filter(pk=customer.pk).update(
                tier_override=Tier.VIP, tier_override_reason="集团领导介绍的重要客户",
                tier_override_by=manager, tier_override_at=now)
    indexing.customer_terms_rebuild(customers=customers)
    ctx.data["customers"] = {"customers": customers}
    ctx.log(_("%(customers)d customers, %(interactions)d interactions, %(tags)d tags")
            % {"customers": len(customers), "interactions": len(interactions),
               "tags": len(tag_links)})


# --- pieces ---------------------------------------------------------------------------------
def _tag_dimensions() -> dict[str, tuple[TagDimension, list[Tag]]]:
    """The seeded dimensions and their active tags (created here only when the ledger's data
    migration has not seeded them)."""
    if not Tag.objects.filter(is_active=True).exists():
        for order, (code, name, allows_many, tag_names) in enumerate(TAG_DIMENSIONS, start=1):
            dimension, _created = TagDimension.objects.get_or_create(
                code=code, defaults={"name": name, "allows_many": allows_many,
                                     "order": order * 10})
            for tag_name in tag_names:
                Tag.objects.get_or_create(dimension=dimension, name=tag_name)
    return {dimension.code: (dimension, [tag for tag in dimension.tags.all() if tag.is_active])
            for dimension in TagDimension.objects.prefetch_related("tags")}


def _spread(values: list, weights: list[int], count: int, ctx: DemoContext) -> list:
    """`count` values by weight, each value at least once."""
    extra = ctx.random.choices(values, weights=weights, k=max(0, count - len(values)))
    chosen = list(values) + extra
    ctx.random.shuffle(chosen)
    return chosen[:count]


def _mobile(ctx: DemoContext, used: set[str]) -> str:
    prefixes = ["134", "135", "136", "137", "138", "139", "150", "151", "152", "158", "159",
                "177", "180", "181", "186", "187", "188", "189", "198", "199"]
    while True:
        phone = f"+86{ctx.random.choice(prefixes)}{ctx.random.randint(0, 99999999):08d}"
        if phone not in used:
            used.add(phone)
            return phone


def id_number_for(region: str, birthday: date, sequence: int, male: bool) -> str:
    """A valid 18-character resident ID number (GB 11643 check character)."""
    order = sequence % 500 * 2 + (1 if male else 0)  # the 17th digit: odd for men
    body = f"{region}{birthday:%Y%m%d}{order:03d}"
    return body + ric.calc_check_digit(body + "0")  # it expects a number with a check place


def _id_number(ctx: DemoContext, birthday: date, gender: str, used: set[str]) -> str:
    while True:
        number = id_number_for(ctx.random.choice(REGION_CODES), birthday,
                               ctx.random.randint(0, 499), gender == Gender.MALE)
        if number not in used:
            used.add(number)
            return number


def _value_for(stage: str, ctx: DemoContext) -> Decimal:
    if stage in (Stage.BUYER, Stage.OWNER, Stage.MEMBER):
        return Decimal(ctx.random.randrange(120, 900))
    return Decimal(0)


def _tier_by_rules(rules: list[TierRule], value: Decimal, made: list[Interaction],
                   now: datetime) -> tuple[str, str]:
    """The ledger's own tiering (`services.tier_for`) over the configured rules."""
    windows = {rule.within_days for rule in rules}
    counts = {days: sum(1 for item in made if item.occurred_at >= now - timedelta(days=days))
              for days in windows}
    return tier_for(value_wan=value, interactions_by_days=counts, rules=rules)


def _tier(value: Decimal, interactions: int) -> tuple[str, str]:
    """A stand-in when no tier rule is configured."""
    if value >= 500:
        return Tier.VIP, f"成交金额 {value} 万元，不低于 500 万元"
    if value > 0 or interactions >= 8:
        return Tier.KEY, (f"成交金额 {value} 万元" if value > 0
                          else f"近 90 天跟进 {interactions} 次")
    if interactions >= 3:
        return Tier.ORDINARY, f"近 90 天跟进 {interactions} 次"
    return Tier.POTENTIAL, "尚无成交，跟进较少"


def _need(ctx: DemoContext, customer: Customer, project) -> CustomerNeed:
    budget_min = ctx.random.choice([150, 200, 250, 300, 400, 500, 600, 800])
    area_min = ctx.random.choice([70, 89, 100, 120, 140, 180])
    districts = CITY_DISTRICTS.get(project.city) or [project.district or project.city]
    return CustomerNeed(
        customer=customer,
        budget_min_wan=Decimal(budget_min),
        budget_max_wan=Decimal(budget_min + ctx.random.choice([50, 100, 150, 200])),
        area_min=Decimal(area_min), area_max=Decimal(area_min + ctx.random.choice([20, 30, 50])),
        rooms=sorted(ctx.random.sample([2, 3, 4, 5], k=ctx.random.randint(1, 2))),
        unit_types=ctx.random.sample(UNIT_TYPES, k=ctx.random.randint(1, 2)),
        districts=ctx.random.sample(districts, k=min(len(districts), ctx.random.randint(1, 2))),
        purpose=ctx.random.choice(["first_home", "upgrade", "investment", "for_parents", ""]),
        notes=ctx.random.choice(["", "希望南北通透", "需要带车位", "看重学区"]),
    )


def _tags(ctx: DemoContext, customer: Customer,
          tags_by_dimension: dict[str, tuple[TagDimension, list[Tag]]]) -> list[CustomerTag]:
    links = []
    for dimension, tags in tags_by_dimension.values():
        if not tags or ctx.random.random() < 0.3:
            continue
        count = ctx.random.randint(1, min(2, len(tags))) if dimension.allows_many else 1
        picked = ctx.random.sample(tags, k=count)
        links.extend(CustomerTag(customer=customer, tag=tag, added_by=customer.owner)
                     for tag in picked)
    return links


def _interactions(ctx: DemoContext, customer: Customer, now: datetime) -> list[Interaction]:
    count = ctx.random.randint(0, 15)
    made = []
    for _index in range(count):
        occurred = now - timedelta(days=ctx.random.randint(1, 180),
                                   minutes=ctx.random.randint(0, 600))
        kind = ctx.random.choice(list(OUTCOMES))
        made.append(Interaction(
            customer=customer, project=customer.project, user=customer.owner, kind=kind,
            occurred_at=occurred, outcome=ctx.random.choice(OUTCOMES[kind]),
            notes=ctx.random.choice(NOTES)))
    if made and customer.stage != Stage.LOST:
        latest = max(made, key=lambda item: item.occurred_at)
        roll = ctx.random.random()
        today = timezone.localdate()
        if roll < 0.2:  # due today
            latest.next_follow_up_at = timezone.make_aware(
                datetime.combine(today, time(ctx.random.randint(9, 18), 0)))
        elif roll < 0.35:  # overdue
            latest.next_follow_up_at = now - timedelta(days=ctx.random.randint(1, 10))
        elif roll < 0.6:
            latest.next_follow_up_at = now + timedelta(days=ctx.random.randint(1, 14))
    return made


def _add_near_duplicates(ctx: DemoContext, customers: list[Customer],
                         phone_rows: list, used_phones: set[str], company) -> None:
    """Two pairs the stewards should look at: same name, phone one digit apart."""
    for source_index in (0, 1):
        source = customers[source_index]
        phone = source.primary_phone
        last = int(phone[-1])
        twin_phone = phone[:-1] + str((last + 1) % 10)
        if twin_phone in used_phones:
            continue
        used_phones.add(twin_phone)
        twin = Customer(
            company=company, project=source.project, owner=source.owner, name=source.name,
            gender=source.gender, birthday=source.birthday, primary_phone=twin_phone,
            occupation=source.occupation, source_channel=ctx.random.choice(CHANNELS),
            stage=Stage.POTENTIAL, lifetime_value_wan=Decimal(0))
        customers.append(twin)
        phone_rows.append((len(customers) - 1, twin_phone, "手机", True))
