"""Background jobs of the leads app: escalation of uncontacted leads, expiry of agency
registrations (django-crontask; times in Asia/Shanghai)."""

from crontask import cron
from django.tasks import task


@cron("*/5 * * * *")
@task
def leads_escalate_uncontacted() -> int:
    """Every 5 minutes: leads not contacted within the project's escalation time are flagged
    once to the managers (they may reassign them)."""
    from .services import leads_escalate

    return leads_escalate()


@cron("*/10 * * * *")
@task
def registrations_expire_due() -> int:
    """Every 10 minutes: registrations past their visit window or protection end."""
    from .agency import registrations_expire

    return registrations_expire()
