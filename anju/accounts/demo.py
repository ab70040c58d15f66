"""Demo data of the accounts app: one developer, three projects, teams and a user per role."""

from django.utils.translation import gettext as _

from anju.core.demo import DemoContext, demo_step

from .models import Company, Project, Role, Team, User

DEMO_PASSWORD = "anju-demo-2026"  # noqa: S105 (printed on purpose: it is a demo)

PROJECTS = [
    # code, name, city, district, address
    ("sijihuacheng", "四季花城", "杭州", "余杭区", "良渚街道古墩路 1888 号"),
    ("binjiangyihao", "滨江壹号", "南京", "建邺区", "江东中路 266 号"),
    ("feicuiwan", "翡翠湾", "佛山", "顺德区", "大良街道德民路 99 号"),
]

# username, role, display name, projects (indexes into PROJECTS; None: none), team index
USERS = [
    ("admin", Role.Code.ADMIN, "系统管理员", None, None),
    ("consultant1", Role.Code.SALES_CONSULTANT, "王晓燕", [0], 0),
    ("consultant2", Role.Code.SALES_CONSULTANT, "李志强", [1], 1),
    ("manager1", Role.Code.SALES_MANAGER, "陈建国", [0, 1], 0),
    ("agent1", Role.Code.CHANNEL_AGENT, "赵磊", [0], None),
    ("marketing1", Role.Code.MARKETING, "孙丽", [0, 1, 2], None),
    ("service1", Role.Code.SERVICE_AGENT, "周敏", [0], 2),
    ("servicemgr1", Role.Code.SERVICE_MANAGER, "吴刚", [0, 1, 2], 2),
    ("exec1", Role.Code.EXECUTIVE, "郑宏伟", None, None),
    ("auditor1", Role.Code.AUDITOR, "冯静", None, None),
]


@demo_step(order=10, name="accounts: organisation and users")
def build(ctx: DemoContext) -> None:
    """Writes directly (no actor exists yet to call services as): an empty database only."""
    if Company.objects.filter(code="anju-demo").exists():
        ctx.log(_("The demo organisation exists already; skipped."))
        company = Company.objects.get(code="anju-demo")
        projects = list(company.projects.order_by("id"))
        users: dict[str, User] = {}
        for user in User.objects.filter(username__in=[row[0] for row in USERS]).select_related(
                "role").order_by("id"):
            users.setdefault(user.role.code, user)
        _remember(ctx, company, projects, users)
        return
    company = Company.objects.create(name="安居置业集团有限公司", code="anju-demo")
    projects = [Project.objects.create(company=company, code=code, name=name, city=city,
                                       district=district, address=address)
                for code, name, city, district, address in PROJECTS]
    teams = [
        Team.objects.create(name="四季花城销售一组", project=projects[0]),
        Team.objects.create(name="滨江壹号销售组", project=projects[1]),
        Team.objects.create(name="客服中心", project=projects[0]),
    ]
    roles = {role.code: role for role in Role.objects.all()}
    users_by_role: dict[str, User] = {}
    for username, role_code, display_name, project_indexes, team_index in USERS:
        user = User(username=username, display_name=display_name, role=roles[role_code],
                    team=teams[team_index] if team_index is not None else None,
                    phone=f"+86139{ctx.random.randint(10000000, 99999999)}",
                    email=f"{username}@example.com", is_superuser=role_code == Role.Code.ADMIN,
                    is_staff=role_code == Role.Code.ADMIN)
        user.set_password(DEMO_PASSWORD)
        user.save()
        if project_indexes:
            user.projects.set([projects[i] for i in project_indexes])
        if role_code == Role.Code.EXECUTIVE:
            user.companies.set([company])
        users_by_role.setdefault(role_code, user)
        ctx.add_credential(str(roles[role_code]), username, DEMO_PASSWORD)
    teams[0].leader = users_by_role[Role.Code.SALES_MANAGER]
    teams[0].save(update_fields=["leader"])
    teams[2].leader = users_by_role[Role.Code.SERVICE_MANAGER]
    teams[2].save(update_fields=["leader"])
    ctx.log(_("%(company)s: %(projects)d projects, %(users)d users")
            % {"company": company, "projects": len(projects), "users": len(USERS)})
    _remember(ctx, company, projects, users_by_role)


def _remember(ctx: DemoContext, company: Company, projects: list[Project],
              users_by_role: dict[str, User]) -> None:
    data = {"company": company, "projects": projects, "users_by_role": users_by_role}
    ctx.data["accounts"] = data
    ctx.data.update(data)
