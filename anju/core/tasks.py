"""Kernel background jobs and the periodic schedule (django-crontask).

The scheduler process (`manage.py crontask`, started by `anju serve`) imports every app's
`tasks` module; each `@cron(...)` above `@task` adds a job that enqueues the task through the
configured backend, so a worker runs it. Cron day-of-week must be a name (`Mon`), not a digit.
Times are in settings.TIME_ZONE (Asia/Shanghai)."""

import logging
from datetime import timedelta
from importlib import import_module

from crontask import cron
from django.conf import settings
from django.tasks import task, task_backends
from django.utils import timezone

logger = logging.getLogger(__name__)

TASK_RESULT_RETENTION_DAYS = 14
IDEMPOTENCY_RETENTION = timedelta(hours=24)


@cron("15 3 * * *")
@task
def task_results_prune() -> int:
    """Deletes finished task results older than TASK_RESULT_RETENTION_DAYS (database backend
    only; Redis expires its own). Returns how many were deleted."""
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    backend = task_backends["default"]
    if not isinstance(backend, DatabaseBackend):
        return 0
    cutoff = timezone.now() - timedelta(days=TASK_RESULT_RETENTION_DAYS)
    deleted, _ = (DBTaskResult.objects.finished()
                  .filter(backend_name=backend.alias, finished_at__lte=cutoff).delete())
    logger.info("pruned %d finished task results", deleted)
    return deleted


@cron("30 3 * * *")
@task
def sessions_clear_expired() -> None:
    """Removes expired sessions (what `manage.py clearsessions` does)."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()


@cron("45 3 * * *")
@task
def idempotency_records_prune() -> int | None:
    """Deletes idempotency records older than IDEMPOTENCY_RETENTION (the API replays a write
    only within that window). None if the API layer is not installed."""
    try:
        from anju.core.api.idempotency import idempotency_prune
    except ImportError:
        logger.warning("anju.core.api.idempotency is missing: idempotency records not pruned")
        return None
    return idempotency_prune(older_than=IDEMPOTENCY_RETENTION)
