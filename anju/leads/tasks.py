"""Background jobs of the leads app: lead imports, escalation of uncontacted leads, expiry
of agency registrations, purge of rate-limit counts (periodic ones by django-crontask; times
in Asia/Shanghai)."""

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


@task
def lead_import_work(job_id: int) -> dict:
    """Works through one uploaded lead sheet (queued by `importing.lead_import_run`) as its
    uploader; returns the counters."""
    from .importing import lead_import_process

    job = lead_import_process(job_id=job_id)
    return {"status": job.status, "total": job.total, "created": job.created,
            "known": job.known, "rejected": job.rejected}


@cron("*/5 * * * *")
@task
def lead_imports_fail_stalled() -> int:
    """Every 5 minutes: lead imports whose worker went away end failed with a message."""
    from .importing import lead_imports_fail_stalled as fail_stalled

    return fail_stalled()


@cron("*/15 * * * *")
@task
def ratelimit_purge() -> int:
    """Every 15 minutes: rate-limit counts of windows that have ended."""
    from .ratelimit import purge

    return purge()


# The intake queue's tasks live beside it; imported here so the scheduler finds them.
from .intake import lead_intake_process, lead_intake_purge, lead_intake_sweep  # noqa: E402, F401
