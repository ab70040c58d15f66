"""Background work of imports: run a job, and pick up jobs whose worker died."""

import logging
from datetime import timedelta

from crontask import cron
from django.tasks import task
from django.utils import timezone

logger = logging.getLogger(__name__)

STALLED_AFTER = timedelta(minutes=10)


@task
def import_job_run(job_id: int) -> dict:
    """Runs or resumes one import job; returns its counters."""
    from .pipeline import import_job_process

    job = import_job_process(job_id=job_id)
    return {"state": job.state, "processed": job.processed_rows, "created": job.created_count,
            "duplicates": job.duplicate_count, "rejected": job.rejected_count}


@cron("*/5 * * * *")
@task
def import_jobs_resume_stalled() -> int:
    """Re-enqueues running jobs whose worker stopped writing (killed, machine restarted):
    each chunk bumps `updated_at`, so a job silent for STALLED_AFTER lost its worker. Queued
    jobs whose task never started are enqueued again too. Returns how many."""
    from ..models import ImportJob

    cutoff = timezone.now() - STALLED_AFTER
    stalled = list(ImportJob.objects.filter(
        state__in=[ImportJob.State.RUNNING, ImportJob.State.QUEUED], updated_at__lt=cutoff,
    ).values_list("id", flat=True))
    for job_id in stalled:
        ImportJob.objects.filter(pk=job_id).update(updated_at=timezone.now())
        import_job_run.enqueue(job_id)
        logger.warning("import job %s stalled: enqueued again", job_id)
    return len(stalled)
