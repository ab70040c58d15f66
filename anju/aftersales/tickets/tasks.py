"""Background jobs of tickets: the SLA sweep (warnings before a breach, escalation after)."""

import datetime as dt

from crontask import cron
from django.tasks import task

from . import sla, stats


@cron("*/5 * * * *")
@task
def tickets_sla_sweep() -> dict:
    """Every 5 minutes: tickets whose warning time came get one warning to the assignee, the
    team leader and the receiving agent; those past a deadline escalate one level (project
    service managers → company service managers → executives), inbox and channels."""
    return sla.sweep()


@cron("10 2 * * *")
@task
def tickets_stats_rebuild() -> dict:
    """Nightly: the quality statistics of the last three finished months (tickets of a past
    month still close and get rated), so the report reads them instead of the tickets."""
    month = stats.current_month()
    built = {}
    for _ in range(3):
        month = (month - dt.timedelta(days=1)).replace(day=1)
        built[month.isoformat()] = stats.ticket_stats_rebuild(month=month)
    return built
