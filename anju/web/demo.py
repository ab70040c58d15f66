"""Demo inbox content, so the shell's badge, inbox and chart have something to show."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from anju.core.demo import DemoContext, demo_step
from anju.core.models import Notification
from anju.core.notifications import notify

SAMPLES = [
    # kind, level, title, body
    ("system.welcome", "info", "欢迎使用安居客户关系系统",
     "左侧菜单进入各模块；右上角可切换中文 / English。"),
    ("system.maintenance", "warning", "本周六 22:00–23:00 系统维护",
     "维护期间暂停登录，请提前保存正在编辑的内容。"),
    ("system.policy", "info", "个人信息保护提醒",
     "客户手机号、身份证号默认脱敏显示，查看明文会记录在审计日志中。"),
    ("system.training", "info", "新功能培训：客户台帐与导入",
     "周三下午 3 点在售楼处会议室，时长约 40 分钟。"),
]


@demo_step(order=900, name="web: inbox notifications")
def build(ctx: DemoContext) -> None:
    users = list(get_user_model().objects.filter(is_active=True).order_by("id"))
    if not users or Notification.objects.exists():
        return
    now = timezone.now()
    for index, (kind, level, title, body) in enumerate(SAMPLES):
        created = notify(recipients=users, kind=kind, title=title, body=body, level=level,
                         channels=[])
        days_ago = ctx.random.randint(0, 13) if index else 0
        Notification.objects.filter(pk__in=[n.pk for n in created]).update(
            created_at=now - timedelta(days=days_ago, minutes=index * 7))
    # Older notifications read, so the badge counts only the fresh ones.
    Notification.objects.filter(created_at__lt=now - timedelta(days=3)).update(read_at=now)
    ctx.log(f"{len(SAMPLES)} notifications for each of {len(users)} users")
