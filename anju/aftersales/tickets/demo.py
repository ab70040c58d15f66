"""Demo data of tickets: the company's problem library (realistic Chinese entries, bound to
every project), SLA policies and the working calendar, a maintenance worker, and tickets of
every type in every state on the demo's delivered (or contracted) units, written through the
services with the demo's service agent, so timelines, warnings and callbacks look real."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext as _

from anju.accounts.models import Role, Team, User
from anju.aftersales.models import SlaPolicy, Ticket, WorkCalendar
from anju.core.demo import DemoContext, demo_step

from . import services, sla
from .seed import library_seed

WORKER = ("worker1", "老李（维修师傅）")


def _photo(colour=(180, 60, 40)) -> SimpleUploadedFile:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(out, "JPEG")
    return SimpleUploadedFile("photo.jpg", out.getvalue(), content_type="image/jpeg")


# (type, location, component, category, description, urgency, how far it goes)
SCRIPT = [
    ("repair", "卫生间", "天花", "渗漏", "下水管周围渗漏", "high", "called_back"),
    ("repair", "厨房", "下水管", "堵塞", "地漏排水慢", "normal", "closed"),
    ("repair", "客厅", "墙面", "开裂", "墙面细微裂缝", "low", "confirmed"),
    ("repair", "主卧", "铝合金窗", "渗漏", "窗台渗水", "high", "completed"),
    ("repair", "卫生间", "瓷砖", "空鼓", "敲击有空响", "normal", "in_progress"),
    ("repair", "阳台", "给水管", "渗漏", "下水管周围渗漏", "critical", "accepted"),
    ("repair", "次卧", "木地板", "起拱", "木地板起拱", "normal", "dispatched"),
    ("repair", "厨房", "开关插座", "无电", "插座无电", "normal", "tasked"),
    ("repair", "玄关", "入户门", "损坏", "门锁损坏", "normal", "received"),
    ("repair", "卫生间", "卫生间防水", "渗漏", "楼上渗水到天花", "high", "waiting"),
    ("repair", "卫生间", "天花", "渗漏", "下水管周围渗漏", "normal", "merged"),
    ("repair", "客厅", "墙面", "发霉", "墙面返潮发霉", "low", "reopened"),
    ("complaint", None, None, None, "维修师傅两次爽约，要求给个说法", "high", "handed_over"),
    ("complaint", None, None, None, "小区门口垃圾清运不及时", "normal", "called_back"),
    ("consultation", None, None, None, "物业费可以按年缴纳吗？", "normal", "consult_closed"),
    ("consultation", None, None, None, "装修需要办理什么手续？", "low", "received"),
    ("praise", None, None, None, "老李师傅修得又快又好，特此表扬", "normal", "praise_closed"),
    ("repair", "卫生间", "天花", "渗漏", "下水管周围渗漏", "normal", "cancelled"),
]


@demo_step(order=40, name="aftersales: problem library, SLAs and tickets")
def build(ctx: DemoContext) -> None:
    accounts = ctx.data.get("accounts")
    if not accounts:
        ctx.log(_("No demo organisation: tickets skipped."))
        return
    company, projects = accounts["company"], accounts["projects"]
    lib = library_seed(company_id=company.pk, project_ids=[p.pk for p in projects])
    names = {**lib["locations"], **lib["categories"], **lib["components"]}
    WorkCalendar.objects.get_or_create(company=company)
    SlaPolicy.objects.get_or_create(
        company=company, ticket_type="repair", category=names["渗漏"], urgency="high",
        defaults={"response_hours": 1, "onsite_hours": 4, "resolve_hours": 16,
                  "callback_hours": 8})
    SlaPolicy.objects.get_or_create(
        company=company, ticket_type="complaint", category=None, urgency="",
        defaults={"response_hours": 1, "onsite_hours": 8, "resolve_hours": 24,
                  "callback_hours": 8})
    if Ticket.objects.filter(project__company=company).exists():
        ctx.log(_("Demo tickets exist already; skipped."))
        return
    users = accounts["users_by_role"]
    agent = users.get(Role.Code.SERVICE_AGENT)
    manager = users.get(Role.Code.SERVICE_MANAGER)
    if agent is None:
        return
    team = Team.objects.filter(name="客服中心", project=projects[0]).first()
    worker = User.objects.filter(username=WORKER[0]).first()
    if worker is None:
        from anju.accounts.demo import DEMO_PASSWORD

        worker = User(username=WORKER[0], display_name=WORKER[1],
                      role=Role.objects.get(code=Role.Code.SERVICE_AGENT), team=team)
        worker.set_password(DEMO_PASSWORD)
        worker.save()
        ctx.add_credential(_("maintenance worker"), WORKER[0], DEMO_PASSWORD)
    homes = _homes(projects)
    if not homes:
        ctx.log(_("No sold units: tickets skipped."))
        return
    made = []
    for index, row in enumerate(SCRIPT):
        unit_id, customer_id = homes[index % len(homes)]
        made.append(_one(ctx, row, unit_id=unit_id, customer_id=customer_id, agent=agent,
                         manager=manager or agent, worker=worker, team=team, names=names,
                         previous=made))
    sla.sweep()
    ctx.log(_("%(n)d tickets of every type and state") % {"n": len(made)})
    ctx.data["aftersales_tickets"] = {"tickets": made, "worker": worker}


def _homes(projects) -> list[tuple[int, int]]:
    from anju.sales.models import Deal

    rows = list(Deal.objects.filter(project__in=projects, status="delivered")
                .order_by("id").values_list("unit_id", "customer_id")[:12])
    rows += list(Deal.objects.filter(project__in=projects, status="contracted")
                 .order_by("id").values_list("unit_id", "customer_id")[:12])
    return rows


def _one(ctx, row, *, unit_id, customer_id, agent, manager, worker, team, names, previous):
    kind, location, component, category, text, urgency, goal = row
    from anju.property.models import Unit

    project_id = Unit.objects.filter(pk=unit_id).values_list("building__project_id",
                                                              flat=True).first()
    if not agent.projects.filter(pk=project_id).exists():
        agent = manager  # the service manager covers every demo project
    praised = team.pk if kind == "praise" and team else None
    ticket = services.ticket_create(
        actor=agent, customer_id=customer_id, unit_id=unit_id,
        location_id=names[location].pk if location else None,
        component_id=names[component].pk if component else None,
        category_id=names[category].pk if category else None, description=text,
        urgency=urgency, ticket_type=kind, praised_team_id=praised,
        channel=ctx.random.choice(["call_centre", "wechat", "portal", "walk_in"]),
        photos=[_photo()] if kind == "repair" else [], first_line=goal == "handed_over")
    pk = ticket.pk
    work = ["tasked", "dispatched", "accepted", "in_progress", "completed", "confirmed",
            "closed", "called_back", "waiting", "reopened"]
    keep = next((t for t in previous if t.project_id == ticket.project_id
                 and Ticket.objects.get(pk=t.pk).is_open), None)
    if goal == "merged" and keep is not None:
        services.ticket_merge(actor=agent, ticket_id=pk, into_id=keep.pk)
    elif goal == "cancelled":
        services.ticket_cancel(actor=agent, ticket_id=pk, reason="业主重复来电，已撤销")
    elif goal == "handed_over" and team:
        services.ticket_hand_over(actor=agent, ticket_id=pk, team_id=team.pk,
                                  note="总部接诉，转项目客服跟进")
    elif goal == "consult_closed":
        services.ticket_close(actor=agent, ticket_id=pk, note="可以，在业主App上按年缴纳")
    elif goal == "praise_closed":
        services.ticket_dispatch(actor=agent, ticket_id=pk, team_id=praised)
        services.ticket_close(actor=agent, ticket_id=pk, note="已转达维修班组")
    elif goal in work:
        steps = work.index(goal) if goal not in ("waiting", "reopened") else (
            3 if goal == "waiting" else 7)
        if steps >= 1:
            services.ticket_dispatch(actor=agent, ticket_id=pk, user_id=worker.pk,
                                     note="请尽快上门")
        if steps >= 2:
            services.ticket_accept(actor=worker, ticket_id=pk)
        if steps >= 3:
            services.ticket_start(actor=worker, ticket_id=pk)
        if goal == "waiting":
            services.ticket_wait_owner(actor=worker, ticket_id=pk, reason="业主出差，下周在家")
        if steps >= 4:
            services.ticket_complete(actor=worker, ticket_id=pk, note="已处理，现场清理完毕",
                                     photos=[_photo((60, 160, 80))])
        if steps >= 5:
            services.ticket_confirm(actor=agent, ticket_id=pk, on_behalf=True,
                                    note="业主电话确认")
        if steps >= 6:
            services.ticket_close(actor=agent, ticket_id=pk)
        if steps >= 7:
            score = 2 if goal == "reopened" else 5
            services.ticket_callback(actor=manager, ticket_id=pk, score=score,
                                     comment="还是有点漏" if score == 2 else "师傅很专业")
    elif goal == "called_back":  # a complaint
        services.ticket_task(actor=agent, ticket_id=pk)
        services.ticket_dispatch(actor=agent, ticket_id=pk, team_id=team.pk if team else None,
                                 contractor="" if team else "物业公司")
        services.ticket_accept(actor=agent, ticket_id=pk)
        services.ticket_complete(actor=agent, ticket_id=pk, note="已协调物业加派清运车")
        services.ticket_confirm(actor=agent, ticket_id=pk, on_behalf=True)
        services.ticket_close(actor=agent, ticket_id=pk)
        services.ticket_callback(actor=manager, ticket_id=pk, score=4, comment="有改善")
    return Ticket.objects.get(pk=pk)
