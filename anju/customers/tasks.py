"""Background jobs of the ledger: follow-up reminders and their escalation."""

from crontask import cron
from django.tasks import task

from . import services
from .importing import tasks as importing_tasks  # noqa: F401  (cron discovery)


@cron("*/15 * * * *")
@task
def follow_ups_remind_and_escalate() -> dict:
    """Every 15 minutes: due follow-ups reach the consultant's inbox once; those overdue by
    more than ANJU_FOLLOW_UP_ESCALATE_HOURS are flagged once to the team leader."""
    return {"reminded": services.follow_up_reminders_send(),
            "escalated": services.follow_ups_escalate()}
