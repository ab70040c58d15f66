"""The leads demo step: a channel tree with costs, agencies with agents and registrations in
every status, today's duty roster, and leads in every status, made through the services."""

import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from anju.accounts.demo import DEMO_PASSWORD
from anju.accounts.models import Role, User
from anju.core.demo import DemoContext, demo_step
from anju.customers.models import CustomerPhone

from . import agency, services
from .models import Agency, AgencyAgent, Channel, Lead, Registration

CHANNELS = [
    # code, name, kind, parent code
    ("online", "线上广告", Channel.Kind.ONLINE_AD, None),
    ("douyin", "抖音信息流", Channel.Kind.ONLINE_AD, "online"),
    ("baidu", "百度搜索", Channel.Kind.ONLINE_AD, "online"),
    ("anjuke", "安居客", Channel.Kind.PLATFORM, None),
    ("walk-in", "自然到访", Channel.Kind.WALK_IN, None),
    ("call-in", "来电", Channel.Kind.CALL_IN, None),
    ("agency", "中介分销", Channel.Kind.AGENCY, None),
    ("owner-referral", "老带新", Channel.Kind.OWNER_REFERRAL, None),
    ("employee-referral", "员工推荐", Channel.Kind.EMPLOYEE_REFERRAL, None),
    ("expo", "房交会", Channel.Kind.EXHIBITION, None),
    ("event", "暖场活动", Channel.Kind.EVENT, None),
]
MONTHLY_COST = {"douyin": 60000, "baidu": 30000, "anjuke": 20000, "expo": 50000,
                "event": 15000}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明"]


def _name(ctx: DemoContext) -> str:
    return ctx.random.choice(SURNAMES) + "".join(ctx.random.choices(GIVEN, k=2))


def _phone(ctx: DemoContext, used: set[str]) -> str:
    while True:
        prefix = ctx.random.choice(["150", "151", "152", "158", "159", "186", "187"])
        phone = f"{prefix}{ctx.random.randint(10000000, 99999999)}"
        if phone not in used and not CustomerPhone.objects.filter(e164="+86" + phone).exists():
            used.add(phone)
            return phone


def _user(ctx: DemoContext, username: str, role: Role, display: str, projects) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, display_name=display, role=role,
                    email=f"{username}@example.com")
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.projects.set(projects)
        ctx.add_credential(str(role), username, DEMO_PASSWORD)
    return user


@demo_step(order=25, name="leads: channels, agencies, registrations, roster and leads")
def build(ctx: DemoContext) -> None:
    if Channel.objects.filter(code="douyin").exists() and Lead.objects.exists():
        ctx.log(_("Leads demo data exists already; skipped."))
        return
    projects = list(ctx.data.get("projects") or [])
    by_role = ctx.data.get("users_by_role") or {}
    if not projects or Role.Code.SALES_MANAGER not in by_role:
        ctx.log(_("No demo organisation: leads skipped."))
        return
    manager = by_role[Role.Code.SALES_MANAGER]
    project = projects[0]
    roles = {role.code: role for role in Role.objects.all()}

    channels: dict[str, Channel] = {}
    for code, name, kind, parent in CHANNELS:
        channels[code] = Channel.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind,
                                 "parent": channels.get(parent) if parent else None})[0]
    today = timezone.localdate()
    start = today.replace(day=1)
    for _month in range(3):
        end = (start + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
        for code, amount in MONTHLY_COST.items():
            for target in projects[:2]:
                services.channel_cost_add(actor=manager, channel=channels[code], project=target,
                                          period_start=start, period_end=end,
                                          amount=Decimal(amount))
        start = (start - datetime.timedelta(days=1)).replace(day=1)

    # consultants on today's roster of the first project, one of them absent
    consultants = [by_role[Role.Code.SALES_CONSULTANT]]
    for index, display in ((3, "刘思雨"), (4, "黄俊杰"), (5, "何佳怡")):
        consultants.append(_user(ctx, f"consultant{index}", roles[Role.Code.SALES_CONSULTANT],
                                 display, [project]))
    roster = services.roster_set(actor=manager, project=project, date=today,
                                 consultants=consultants, absent=[consultants[-1]])
    services.assignment_rule_create(actor=manager, project=project, order=10,
                                    grade="A", consultants=consultants[:2])

    # agencies and their agents
    company = project.company
    first = Agency.objects.create(company=company, name="链家分销（余杭店）",
                                  contact_consultant=consultants[1], channel=channels["agency"],
                                  commission_rate=Decimal("1.50"))
    second = Agency.objects.create(company=company, name="我爱我家（良渚店）",
                                   contact_consultant=consultants[1],
                                   channel=channels["agency"])
    agents = []
    agent1 = by_role.get(Role.Code.CHANNEL_AGENT)
    if agent1 is not None:
        AgencyAgent.objects.get_or_create(user=agent1, defaults={"agency": first})
        agents.append(agent1)
    agents.append(_user(ctx, "agent2", roles[Role.Code.CHANNEL_AGENT], "钱多多", [project]))
    AgencyAgent.objects.get_or_create(user=agents[-1], defaults={"agency": second})
    used: set[str] = set()
    # registrations in every status
    regs = [agency.registration_submit(actor=agents[i % len(agents)], project=project,
                                       customer_name=_name(ctx), phone=_phone(ctx, used))
            for i in range(6)]
    agency.registration_submit(actor=agents[-1], project=project,
                               customer_name=regs[0].customer_name,
                               phone=regs[0].claim_key)  # 撞单: rejected
    agency.registration_confirm_visit(actor=consultants[1], registration=regs[1])
    agency.registration_confirm_visit(actor=consultants[1], registration=regs[2])
    Registration.objects.filter(pk=regs[3].pk).update(
        visit_deadline=timezone.now() - datetime.timedelta(days=1))
    agency.registrations_expire()
    services.policy_set(actor=manager, project=projects[1], review_registrations=True)
    agency.registration_submit(actor=agents[0], project=projects[1], customer_name=_name(ctx),
                               phone=f"{_phone(ctx, used)[:3]}****{ctx.random.randint(1000, 9999)}")
    lead = Lead.objects.filter(registration=regs[2]).first()
    if lead is not None:
        converted = services.lead_convert(actor=consultants[1], lead=lead)
        agency.registration_credit_deal(
            customer_id=converted.customer_id, project_id=project.pk,
            deal_reference=f"DEMO-{converted.pk}", amount=Decimal("2860000"),
            signed_at=timezone.now())

    # leads in every status, through every door
    kinds = ["douyin", "baidu", "anjuke", "walk-in", "call-in", "expo", "event"]
    made = []
    for index in range(30 * max(1, ctx.size)):
        channel = channels[kinds[index % len(kinds)]]
        method = Lead.Method.QR if channel.code == "walk-in" else Lead.Method.FORM
        result = services.lead_capture(
            project=project, channel=channel, method=method, name=_name(ctx),
            phone=_phone(ctx, used), actor=None,
            budget_wan=ctx.random.choice([None, 150, 220, 300, 450, 800]),
            timing=ctx.random.choice(["", "1m", "3m", "6m", "later"]),
            unit_type=ctx.random.choice(["", "三房两厅", "四房", "两房"]))
        made.append(result.lead)
    owner = ctx.data.get("customers", {}).get("customers", [None])
    referrer = owner[0] if owner else None
    if referrer is not None:
        made.append(services.lead_capture(
            project=project, channel=channels["owner-referral"], method=Lead.Method.FORM,
            name=_name(ctx), phone=_phone(ctx, used), referrer_customer=referrer).lead)
    for index, lead in enumerate(made):
        if lead.assigned_to is None:
            continue
        actor = lead.assigned_to
        step = index % 7
        if step == 1:
            services.lead_contact(actor=actor, lead=lead)
        elif step == 2:
            services.lead_visit(actor=actor, lead=lead)
        elif step == 3:
            services.lead_invalidate(actor=actor, lead=lead, reason="空号")
        elif step == 4:
            services.lead_lose(actor=actor, lead=lead, reason="已在别处购房")
        elif step == 5:
            services.lead_convert(actor=actor, lead=lead)
    services.lead_capture(project=projects[1], name=_name(ctx), phone=_phone(ctx, used),
                          method=Lead.Method.FORM, channel=channels["baidu"])  # nobody on duty
    ctx.log(_("%(leads)d leads, %(regs)d registrations, roster of %(people)d")
            % {"leads": Lead.objects.count(), "regs": Registration.objects.count(),
               "people": roster.entries.count()})
    ctx.data["leads"] = {"channels": channels, "agencies": [first, second]}
