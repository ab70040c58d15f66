"""Background jobs of tickets: the SLA sweep (warnings before a breach, escalation after)."""

from crontask import cron
from django.tasks import task

from . import sla


@cron("*/5 * * * *")
@task
def tickets_sla_sweep() -> dict:
    """Every 5 minutes: tickets whose warning time came get one warning to the assignee, the
    team leader and the receiving agent; those past a deadline escalate one level (project
    service managers → company service managers → executives), inbox and channels."""
    return sla.sweep()
