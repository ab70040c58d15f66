"""Background jobs of the ledger: follow-up reminders and their escalation, and the scan
for duplicate candidates."""

from crontask import cron
from django.tasks import task

from . import duplicates, services
from .importing import tasks as importing_tasks  # noqa: F401  (cron discovery)


@cron("*/15 * * * *")
@task
def follow_ups_remind_and_escalate() -> dict:
    """Every 15 minutes: due follow-ups reach the consultant's inbox once; those overdue by
    more than ANJU_FOLLOW_UP_ESCALATE_HOURS are flagged once to the team leader."""
    return {"reminded": services.follow_up_reminders_send(),
            "escalated": services.follow_ups_escalate()}


@cron("*/30 * * * *")
@task
def duplicate_candidates_scan() -> dict:
    """Every 30 minutes (and when a steward asks): the duplicate rules over the whole
    ledger, stored for the stewards' page."""
    scan = duplicates.duplicate_scan()
    return {"pairs": scan.pairs, "seconds": scan.seconds}
