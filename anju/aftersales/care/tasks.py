"""Background jobs of care (django-crontask; times in Asia/Shanghai)."""

import datetime

from crontask import cron
from django.tasks import task
from django.utils import timezone

from . import services

CALLBACK_LOOKBACK = datetime.timedelta(hours=2)


@task
def survey_sms_send(invitation_id: int) -> bool:
    """Sends one survey link by SMS (enqueued when the invitation is committed)."""
    return services.survey_sms_deliver(invitation_id=invitation_id)


@cron("10 * * * *")
@task
def surveys_after_callbacks() -> int:
    """Hourly: owners whose ticket was called back (or rated) in the last two hours get the
    callback survey, once per ticket (the overlap makes a missed run harmless)."""
    return services.surveys_after_callbacks(since=timezone.now() - CALLBACK_LOOKBACK)


@cron("0 10 15 1 *")
@task
def surveys_yearly() -> int:
    """Every 15 January at 10:00: the yearly satisfaction survey to every owner, once a year."""
    return services.surveys_yearly(year=timezone.localdate().year)
