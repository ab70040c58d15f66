"""Periodic jobs of deals (django-crontask; times in Asia/Shanghai)."""

from crontask import cron
from django.tasks import task

from . import services


@cron("*/5 * * * *")
@task
def deals_expire() -> int:
    """Every 5 minutes: holds and reservations past their expiry release their units."""
    return services.deals_expire()


@cron("0 9 * * *")
@task
def instalments_overdue_flag() -> int:
    """Daily at 09:00: instalments past due and not paid in full are flagged (once each) to
    the consultant and their manager."""
    return services.instalments_overdue_flag()
