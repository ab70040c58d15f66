"""Background work: the kernel's periodic tasks really run on both task backends, and the
scheduler knows them."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.tasks import task as background_task
from django.utils import timezone, translation
from django.utils.translation import gettext

from anju.core import tasks

REDIS_TEST_URL = "redis://127.0.0.1:6379/13"
RQ_TEST_QUEUE = "anju_test_tasks"


def make_sessions() -> None:
    now = timezone.now()
    Session.objects.create(session_key="expired" + "x" * 25, session_data="",
                           expire_date=now - timedelta(days=1))
    Session.objects.create(session_key="current" + "x" * 25, session_data="",
                           expire_date=now + timedelta(days=1))


def remaining_sessions() -> list[str]:
    return [key[:7] for key in Session.objects.values_list("session_key", flat=True)]


@background_task
def words_of_the_task() -> str:
    return gettext("Core")


@pytest.mark.django_db
def test_a_task_speaks_the_installation_language_whoever_enqueued_it():
    """An English-speaking request (or a worker started from an English terminal) must not
    turn owners' SMS and staff notices into English."""
    with translation.override("en"):
        result = words_of_the_task.enqueue()
        assert translation.get_language() == "en"  # the request's own language is back
    assert result.return_value == "核心"


@pytest.mark.django_db(transaction=True)
def test_the_worker_speaks_the_installation_language_in_an_english_terminal(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    result = words_of_the_task.enqueue()
    with translation.override("en"):
        call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    result.refresh()
    assert result.return_value == "核心"


@pytest.mark.django_db
def test_immediate_backend_runs_the_task_at_once():
    """The test settings' ImmediateBackend: what every other test relies on."""
    make_sessions()
    result = tasks.sessions_clear_expired.enqueue()
    assert result.status == "SUCCESSFUL"
    assert remaining_sessions() == ["current"]


@pytest.mark.django_db(transaction=True)
def test_database_backend_runs_the_task_in_the_worker(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    make_sessions()

    result = tasks.sessions_clear_expired.enqueue()
    assert result.status == "READY"
    assert len(remaining_sessions()) == 2  # nothing happens until a worker runs

    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)

    result.refresh()
    assert result.status == "SUCCESSFUL"
    assert remaining_sessions() == ["current"]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_rq_backend_runs_the_task_in_a_worker(settings):
    import django_rq
    import redis
    from django_tasks_rq.backend import Job
    from rq import SimpleWorker

    # django_tasks_rq fetches results through the "default" connection: point both at db 13.
    settings.RQ_QUEUES = {name: {"URL": REDIS_TEST_URL, "DEFAULT_TIMEOUT": 60}
                          for name in ("default", RQ_TEST_QUEUE)}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend",
                                  "QUEUES": [RQ_TEST_QUEUE]}}
    connection = redis.Redis.from_url(REDIS_TEST_URL)
    connection.flushdb()
    try:
        make_sessions()
        result = tasks.sessions_clear_expired.using(queue_name=RQ_TEST_QUEUE).enqueue()
        assert result.status.value == "READY"
        assert len(remaining_sessions()) == 2

        queue = django_rq.get_queue(RQ_TEST_QUEUE, job_class=Job)
        worker = SimpleWorker([queue], connection=queue.connection, job_class=Job)
        worker.work(burst=True)

        result.refresh()
        # django_tasks_rq returns the backport's TaskResult: compare the status, not the class.
        assert result.status.value == "SUCCESSFUL"
        assert remaining_sessions() == ["current"]
    finally:
        connection.flushdb()


@pytest.mark.django_db
def test_finished_task_results_are_pruned_after_two_weeks(settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    old = tasks.sessions_clear_expired.enqueue()
    recent = tasks.sessions_clear_expired.enqueue()
    waiting = tasks.sessions_clear_expired.enqueue()
    long_ago = timezone.now() - timedelta(days=tasks.TASK_RESULT_RETENTION_DAYS + 1)
    DBTaskResult.objects.filter(id=old.id).update(status="SUCCESSFUL", finished_at=long_ago)
    DBTaskResult.objects.filter(id=recent.id).update(status="SUCCESSFUL",
                                                     finished_at=timezone.now())

    assert tasks.task_results_prune.call() == 1

    kept = {str(pk) for pk in DBTaskResult.objects.values_list("id", flat=True)}
    assert kept == {str(recent.id), str(waiting.id)}


@pytest.mark.django_db
def test_pruning_task_results_is_a_no_op_off_the_database_backend():
    assert tasks.task_results_prune.call() == 0


@pytest.mark.django_db
def test_idempotency_records_older_than_a_day_are_pruned():
    from django.contrib.auth import get_user_model

    from anju.core.models import IdempotencyRecord

    user = get_user_model().objects.create_user(username="api", password="x-123456789")
    for key in ("old", "new"):
        IdempotencyRecord.objects.create(user=user, key=key, method="POST", path="/api/v1/x/",
                                         request_fingerprint="f")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(days=2))

    assert tasks.idempotency_records_prune.call() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_the_scheduler_registers_the_periodic_tasks():
    from crontask import scheduler

    scheduled = {job.name: job for job in scheduler.get_jobs()}
    for task in (tasks.task_results_prune, tasks.sessions_clear_expired,
                 tasks.idempotency_records_prune):
        assert task.name in scheduled
        assert scheduled[task.name].func == task.enqueue
    trigger = str(scheduled[tasks.sessions_clear_expired.name].trigger)
    assert "hour='3'" in trigger and "minute='30'" in trigger


def test_the_worker_command_runs_the_worker_of_the_configured_backend(settings, monkeypatch):
    from anju.core.management.commands import worker

    calls = []
    monkeypatch.setattr(worker, "call_command", lambda *a, **kw: calls.append((a, kw)))
    settings.TASK_BACKEND = "db"
    call_command("worker")
    settings.TASK_BACKEND = "rq"
    call_command("worker", burst=True)
    assert calls[0][0] == ("db_worker",) and calls[0][1]["queue_name"] == "*"
    assert calls[1] == (("rqworker", "default"),
                        {"job_class": "django_tasks_rq.Job", "burst": True})


def test_serve_starts_web_worker_and_scheduler(settings):
    from anju.core.serving import serve_children

    settings.TASK_BACKEND = "db"
    children = {c.name: c.argv for c in serve_children(host="127.0.0.1", port=8001, threads=4)}
    assert set(children) == {"web", "worker", "scheduler"}
    assert children["worker"][-1] == "worker"
    settings.TASK_BACKEND = "immediate"  # tasks run in the web process: no worker
    assert [c.name for c in serve_children(host="127.0.0.1", port=8001, threads=4)] == [
        "web", "scheduler"]
