"""The care demo step: knowledge-base articles in Chinese tied to the problem library,
survey templates (after callback, after handover, yearly) with answered surveys, the
handover project's own inspection checklist, and a handover batch in progress (slots booked,
units inspected with an issue sent to repair, keys handed over, one signed off — a unit paid
in full, so its deal is delivered), all through the services."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from anju.accounts.models import Company, Role, User
from anju.core.demo import DemoContext, demo_step
from anju.property.models import Building
from anju.sales.models import DealBuyer

from ..models.care import HandoverBatch, KnowledgeArticle, SurveyTemplate
from ..models.tickets import ProblemCategory
from . import services
from .services import OWNER_DEAL_STATUSES, InspectionLine, QuestionSpec

ARTICLES = [
    ("渗漏", "卫生间天花渗水怎么办", "漏水 渗水 天花 卫生间 楼上",
     "1. 请先确认楼上卫生间是否在用水，必要时请楼上业主暂停使用淋浴。\n"
     "2. 拍下渗水位置的照片（含水渍范围），在业主服务中报修。\n"
     "3. 防水工程保修期为 5 年，自交付之日起计算，保修期内维修费用由开发商承担。"),
    ("渗漏", "窗边渗水的常见原因", "窗户 窗台 渗水 下雨",
     "铝合金窗渗水多因外侧打胶老化或排水孔堵塞。雨后请观察渗水是否集中在窗角，"
     "报修时说明是否每次下雨都会出现。"),
    ("开裂", "墙面细小裂缝是否影响结构", "裂缝 开裂 墙面 结构 安全",
     "宽度小于 0.3 毫米的抹灰层裂缝属于装饰层收缩裂缝，不影响结构安全，"
     "装饰装修保修期为 2 年。若裂缝持续变宽或贯穿墙体，请立即报修。"),
    ("空鼓", "地砖空鼓如何判断", "空鼓 地砖 敲击 瓷砖",
     "用硬物轻敲地砖，声音发空即为空鼓。单块面积空鼓超过 15% 或出现翘起，可报修更换。"),
    ("堵塞", "下水道堵塞的自行处理", "堵塞 下水 地漏 马桶 疏通",
     "轻微堵塞可先用皮搋子疏通；请勿倒入强酸强碱。若多个地漏同时返水，"
     "可能是公共立管堵塞，请立即报修，物业将优先处理。"),
    ("跳闸", "家里频繁跳闸怎么办", "跳闸 停电 漏电 空开",
     "先断开所有电器，逐个合上空气开关，找出跳闸回路。漏电保护器跳闸多为电器或插座受潮，"
     "请勿反复强行合闸，拍下配电箱照片报修。"),
    ("", "交付验房需要带什么", "交付 验房 收房 钥匙 证件",
     "请携带身份证原件、购房合同、交付通知书。验房时按房间逐项检查墙面、地面、门窗、水电，"
     "发现的问题会当场登记为维修工单，钥匙交接后签字确认。"),
]

SURVEYS = {
    "callback": ("维修回访满意度", [
        QuestionSpec("nps", "您有多大可能向亲友推荐我们的物业服务？"),
        QuestionSpec("scale", "您对本次维修的整体满意度？"),
        QuestionSpec("choice", "维修人员是否按约定时间上门？", ("准时", "稍有延误", "严重延误")),
        QuestionSpec("text", "您对我们还有什么建议？", required=False),
    ]),
    "handover": ("交付满意度调查", [
        QuestionSpec("nps", "您有多大可能向亲友推荐本项目？"),
        QuestionSpec("scale", "您对交付现场的服务满意度？"),
        QuestionSpec("scale", "您对房屋质量的满意度？"),
        QuestionSpec("text", "交付中让您不满意的地方？", required=False),
    ]),
    "yearly": ("年度业主满意度调查", [
        QuestionSpec("nps", "您有多大可能向亲友推荐我们？"),
        QuestionSpec("scale", "您对社区环境的满意度？"),
        QuestionSpec("choice", "您最希望改善的方面？", ("安保", "绿化", "停车", "维修响应")),
        QuestionSpec("text", "其他意见", required=False),
    ]),
}
COMMENTS = ["服务很好", "希望响应再快一点", "", "师傅很专业", "停车太难了", ""]


def _staff(project) -> User | None:
    return (User.objects.filter(projects=project, is_active=True,
                                role__code__in=[Role.Code.SERVICE_MANAGER, Role.Code.ADMIN])
            .order_by("id").first()
            or User.objects.filter(is_superuser=True, is_active=True).order_by("id").first())


@demo_step(order=50, name="aftersales: knowledge base, surveys and a handover batch")
def build(ctx: DemoContext) -> None:
    from ..tickets.seed import library_seed

    if KnowledgeArticle.objects.exists() or SurveyTemplate.objects.exists():
        ctx.log(_("Care demo data exists: skipped."))
        return
    companies = list(Company.objects.order_by("id"))
    for company in companies:
        library_seed(company_id=company.pk,
                     project_ids=list(company.projects.values_list("id", flat=True)))
        categories = {c.name: c.pk for c in ProblemCategory.objects.filter(company=company)}
        for category, title, keywords, body in ARTICLES:
            services.knowledge_article_create(actor=None, company=company, title=title,
                                              body=body, keywords=keywords,
                                              category_id=categories.get(category))
        for trigger, (name, questions) in SURVEYS.items():
            services.survey_template_create(actor=None, company=company, name=name,
                                            trigger=trigger, questions=questions)
    answered = _surveys(ctx)
    batch = _handover(ctx)
    ctx.data["care"] = {"responses": answered, "batch": batch.pk if batch else None}
    ctx.log(_("%(articles)d articles, %(responses)d survey answers, handover batch: %(batch)s")
            % {"articles": KnowledgeArticle.objects.count(), "responses": answered,
               "batch": batch or "—"})


def _owners() -> list[DealBuyer]:
    seen, result = set(), []
    for buyer in (DealBuyer.objects.filter(deal__status__in=OWNER_DEAL_STATUSES,
                                           is_primary=True)
                  .select_related("customer", "deal__project", "deal__unit")
                  .order_by("deal_id")):
        if buyer.customer_id not in seen:
            seen.add(buyer.customer_id)
            result.append(buyer)
    return result


def _surveys(ctx: DemoContext) -> int:
    """Yearly surveys to every owner; about two thirds answer, with varied scores."""
    year = timezone.localdate().year
    answered = 0
    for buyer in _owners():
        invitation = services.survey_invite(customer=buyer.customer, project=buyer.deal.project,
                                            trigger="yearly", reference=f"year:{year}",
                                            send_sms=False)
        if invitation is None or ctx.random.random() > 0.66:
            continue
        answers = {}
        for question in invitation.template.questions.all():
            if question.kind == "nps":
                answers[question.pk] = ctx.random.choice([10, 9, 9, 8, 7, 6, 10, 3])
            elif question.kind == "scale":
                answers[question.pk] = ctx.random.choice([5, 5, 4, 4, 3, 2])
            elif question.kind == "choice":
                answers[question.pk] = ctx.random.choice(question.choices)
            else:
                answers[question.pk] = ctx.random.choice(COMMENTS)
        services.survey_submit(invitation=invitation, answers=answers)
        answered += 1
    return answered


def _handover(ctx: DemoContext) -> HandoverBatch | None:
    """A batch in the building with the most sold units: slots over the next three days,
    most units booked, two inspected (one with a leak sent to repair), keys, one signed."""
    from django.db.models import Count, Q

    from ..models.tickets import Component

    building = (Building.objects.annotate(sold=Count("units", filter=Q(
        units__deals__status__in=OWNER_DEAL_STATUSES))).filter(sold__gt=0)
        .order_by("-sold", "id").select_related("project").first())
    if building is None:
        return None
    actor = _staff(building.project)
    _own_checklist(actor, building.project)
    today = timezone.localdate()
    batch = services.handover_batch_create(
        actor=actor, building=building, name=f"{building.name}第一批集中交付",
        starts_on=today + datetime.timedelta(days=1), ends_on=today + datetime.timedelta(days=3))
    slots = []
    for day in range(1, 4):
        for hour in (9, 10, 14, 15):
            start = timezone.make_aware(datetime.datetime.combine(
                today + datetime.timedelta(days=day), datetime.time(hour)))
            slots.append(services.handover_slot_create(
                actor=actor, batch=batch, starts_at=start,
                ends_at=start + datetime.timedelta(hours=1), capacity=3))
    units = list(batch.units.order_by("id"))
    # The unit signed off (units[1]) is one whose deal is paid in full (or already delivered):
    # sign-off delivers the deal, and sales refuses a unit with money still owed.
    signable = [h for h in units if _paid_in_full(h.unit_id)]
    if len(units) >= 2 and signable and signable[0] is not units[1]:
        units.remove(signable[0])
        units.insert(1, signable[0])
    for index, handover in enumerate(units[: max(1, len(units) * 2 // 3)]):
        services.handover_book(actor=actor, handover_id=handover.pk,
                               slot_id=slots[index % len(slots)].pk)
    ceiling = Component.objects.filter(company_id=building.project.company_id, name="天花").first()
    leak = ProblemCategory.objects.filter(company_id=building.project.company_id,
                                          name="渗漏").first()
    for index, handover in enumerate(units[:2]):
        lines = [InspectionLine("客厅", "墙面", ok=True), InspectionLine("厨房", "给排水", ok=True)]
        if index == 0 and ceiling and leak and handover.customer_id:
            lines.append(InspectionLine("卫生间", "天花", ok=False, note="天花角落有水渍",
                                        component_id=ceiling.pk, category_id=leak.pk))
        services.handover_inspect(actor=actor, handover_id=handover.pk, lines=lines)
    if len(units) >= 2 and signable:
        services.handover_keys(actor=actor, handover_id=units[1].pk, key_count=4)
        services.handover_sign_off(actor=actor, handover_id=units[1].pk,
                                   signed_by=units[1].customer.name if units[1].customer
                                   else "业主")
    return batch


def _paid_in_full(unit_id: int) -> bool:
    from django.db.models import F

    from anju.sales.models import Deal

    return Deal.objects.filter(unit_id=unit_id, status__in=OWNER_DEAL_STATUSES,
                               received_amount=F("final_price")).exists()


def _own_checklist(actor: User | None, project) -> None:
    """The handover project's own checklist: the built-in one plus the entrance door, the
    storeroom and the air-conditioning holes, the kind of change a project makes."""
    company = project.company
    for action, room, name in (("item_add", "客厅", "入户门"),
                               ("item_add", "阳台", "空调孔"),
                               ("room_add", "", "储藏间"),
                               ("item_add", "储藏间", "墙面"),
                               ("item_add", "储藏间", "地面"),
                               ("item_up", "阳台", ""),):
        services.checklist_change(actor=actor, company=company, project=project,
                                  action=action, room=room, name=name,
                                  item="空调孔" if action == "item_up" else "")
