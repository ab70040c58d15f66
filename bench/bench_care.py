"""Care reads at scale: NPS/CSAT per project over a year of 200,000 survey responses, the
reception form's knowledge suggestions among 2,000 articles, and the handover progress of
40 batches × 250 units.

    .venv/bin/python bench/bench_care.py --db sqlite [--repeat 50] [--fresh]
    .venv/bin/python bench/bench_care.py --db postgresql

Its own database (`bench_care` on PostgreSQL, `/tmp/bench_care.sqlite3`), migrated and filled
on first use through bulk inserts (the services are tested elsewhere; here only reads count)."""

import datetime
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

RESPONSES, CUSTOMERS, PROJECTS = 200_000, 2_000, 5
ARTICLES, BATCHES, UNITS_PER_BATCH = 2_000, 40, 250




def fill():
    """The data, once: returns the service manager who sees every project."""
    import random
    from decimal import Decimal

    from django.utils import timezone

    from anju.accounts.models import Company, Project, Role, User
    from anju.aftersales.care.services import QuestionSpec, survey_template_create
    from anju.aftersales.models import (
        HandoverBatch,
        HandoverUnit,
        KnowledgeArticle,
        ProblemCategory,
        SurveyAnswer,
        SurveyInvitation,
        SurveyResponse,
    )
    from anju.aftersales.tickets.seed import library_seed
    from anju.customers.models import Customer
    from anju.property.models import Building, Unit

    manager = User.objects.filter(username="bench_care_manager").first()
    if manager is not None:
        return manager
    rng = random.Random(7)  # noqa: S311 (bench data, not secrets)
    company = Company.objects.create(name="关怀基准公司", code="bench-care")
    projects = [Project.objects.create(company=company, name=f"基准项目{i}",
                                       code=f"bench-care-{i}") for i in range(PROJECTS)]
    manager = User.objects.create_user("bench_care_manager", password="x-bench-2026",  # noqa: S106
                                       role=Role.objects.get(code="service_manager"))
    manager.projects.set(projects)
    library_seed(company_id=company.pk, project_ids=[p.pk for p in projects])
    categories = list(ProblemCategory.objects.filter(company=company).values_list("id",
                                                                                  flat=True))
    words = ["渗漏", "漏水", "开裂", "空鼓", "堵塞", "跳闸", "门窗", "墙面", "天花", "卫生间",
             "厨房", "阳台", "噪音", "停车", "绿化", "电梯"]
    KnowledgeArticle.objects.bulk_create([
        KnowledgeArticle(company=company, title=f"{rng.choice(words)}{rng.choice(words)}问题{i}",
                         body="处理方法：" + "，".join(rng.sample(words, 5)),
                         keywords=" ".join(rng.sample(words, 3)),
                         category_id=rng.choice(categories)) for i in range(ARTICLES)],
        batch_size=1000)
    template = survey_template_create(actor=None, company=company, name="年度满意度",
                                      trigger="yearly", questions=[
                                          QuestionSpec("nps", "推荐意愿"),
                                          QuestionSpec("scale", "满意度")])
    nps_q, scale_q = list(template.questions.order_by("position"))
    customers = Customer.objects.bulk_create([
        Customer(company=company, project=projects[i % PROJECTS], name=f"业主{i}")
        for i in range(CUSTOMERS)], batch_size=1000)
    now = timezone.now()
    for start in range(0, RESPONSES, 20_000):
        chunk = range(start, min(start + 20_000, RESPONSES))
        invitations = SurveyInvitation.objects.bulk_create([
            SurveyInvitation(template=template, customer=customers[i % CUSTOMERS],
                             project=projects[i % PROJECTS], trigger="yearly",
                             reference=f"bench:{i}", token=f"bench-{i}",
                             expires_at=now, answered_at=now) for i in chunk], batch_size=2000)
        responses = SurveyResponse.objects.bulk_create([
            SurveyResponse(invitation=inv, customer_id=inv.customer_id,
                           project_id=inv.project_id, trigger="yearly",
                           nps_score=rng.randint(0, 10), csat_score=Decimal(score),
                           scale_answers=1, scale_satisfied=int(score >= 4))
            for inv, score in ((i, rng.randint(1, 5)) for i in invitations)], batch_size=2000)
        SurveyAnswer.objects.bulk_create(
            [SurveyAnswer(response=r, question=scale_q, number=int(r.csat_score))
             for r in responses] + [SurveyAnswer(response=r, question=nps_q, number=r.nps_score)
                                    for r in responses], batch_size=4000)
    # spread over the last year
    for index, project in enumerate(projects):
        SurveyResponse.objects.filter(project=project).update(
            submitted_at=now - datetime.timedelta(days=30 + index * 60))
    for b in range(BATCHES):
        project = projects[b % PROJECTS]
        building = Building.objects.create(project=project, name=f"{b}号楼", code=str(b),
                                           floor_count=25, units_per_floor=10)
        units = Unit.objects.bulk_create([
            Unit(building=building, floor=1 + i // 10, position=1 + i % 10, number=str(i),
                 label=f"{b}-{i}", built_area=Decimal("90"), list_price=Decimal("1000000"))
            for i in range(UNITS_PER_BATCH)])
        batch = HandoverBatch.objects.create(project=project, building=building,
                                             name=f"批次{b}", starts_on=now.date(),
                                             ends_on=now.date())
        HandoverUnit.objects.bulk_create([
            HandoverUnit(batch=batch, unit=u, stage=rng.choice(["waiting", "inspected",
                                                                "keys", "signed"]))
            for u in units])
    return manager


def main() -> None:
    args = common.arguments(__doc__, extra=lambda parser: parser.add_argument(
        "--fresh", action="store_true", help="drop and rebuild the bench database"))
    common.setup_own_database(args, "bench_care")
    manager = fill()
    from django.utils import timezone

    from anju.aftersales.care import selectors
    from anju.aftersales.models import HandoverBatch, ProblemCategory

    print(common.machine())
    today = timezone.localdate()
    year_ago = today - datetime.timedelta(days=365)

    def scores(_):
        rows = selectors.survey_scores(user=manager, date_from=year_ago, date_to=today)
        assert sum(r.responses for r in rows) == RESPONSES

    common.report("NPS/CSAT per project, one year", common.timed(scores, [None], args.repeat),
                  target_ms=500)
    categories = list(ProblemCategory.objects.values_list("id", flat=True))
    texts = ["卫生间天花漏水了", "厨房墙面开裂", "阳台地漏堵塞返水", "电梯噪音很大"]

    def suggest(argument):
        selectors.knowledge_suggest(user=manager, text=argument[0], category_id=argument[1])

    common.report("knowledge suggestions", common.timed(
        suggest, [(t, c) for t in texts for c in categories[:5]], args.repeat), target_ms=100)
    batch_ids = list(HandoverBatch.objects.values_list("id", flat=True))

    def progress(_):
        selectors.handover_progress(batch_ids=batch_ids)

    common.report("handover progress, 40 batches", common.timed(progress, [None], args.repeat),
                  target_ms=100)


if __name__ == "__main__":
    main()
