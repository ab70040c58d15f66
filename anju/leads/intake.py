"""The door of outside sources under load: a lead posted through the API is checked field by
field and kept at once (`intake_receive`, one INSERT), then made into a lead by the
background worker in batches (`intake_process`).

Why two steps: an ad platform or a campaign form can post hundreds of leads a second. One
by one, every capture pays the whole request stack and a dozen statements of its own; in a
batch, the ledger check is three queries for 500 phones, the roster's turns one statement,
and the leads, their events, the contacts on known people's records and the consultants'
notices one INSERT each. The rules are those of `services.lead_capture` (which the app
form, the import and the QR check-in use directly), shared through `known.py` for people
already in the ledger; a phone that is already an open lead of the project or under an
agency's claim goes through `lead_capture` itself, inside the batch.

The source learns the outcome from the answer when the worker was faster than the request
(always with the immediate backend), else from `GET lead-capture/<receipt>/`."""

import datetime
import hashlib
import json
import logging
import time
import uuid
from collections import defaultdict
from typing import Any

from crontask import cron
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core.notifications import notify_many
from anju.customers.dedup import customers_by_phone
from anju.customers.models import Customer

from . import config, grading, known, services
from .cleaning import clean_budget, clean_name, clean_phone, clean_text, clean_timing, raise_if
from .models import Lead, LeadEvent, LeadSource, Registration
from .models_intake import LeadIntake

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# SQLite has one writer: a shorter batch keeps the posts that wait for it short too.
SQLITE_BATCH_SIZE = 100
KICK_KEY = "leads:intake:kicked"
KICK_SECONDS = 2
LINGER_SECONDS = 3
POLL_SECONDS = 0.2
KEEP_DAYS = 30


class IntakeKeyReused(Exception):
    """The Idempotency-Key was used before for a different body."""


def intake_receive(*, source: LeadSource, data: dict[str, Any], idempotency_key: str = ""
                   ) -> tuple[LeadIntake, bool]:
    """Checks a posted lead and queues it; returns (the intake row, replayed). Raises
    ValidationError naming the fields at fault, IntakeKeyReused for a key sent before with
    other values (compared once cleaned: `138 0013 8000` and `13800138000` are the same)."""
    errors: dict[str, str] = {}
    row = LeadIntake(
        source=source, idempotency_key=idempotency_key,
        name=clean_name(errors, data.get("name")), phone=clean_phone(errors, data.get("phone")),
        budget_wan=clean_budget(errors, data.get("budget_wan")),
        timing=clean_timing(errors, data.get("timing")),
        unit_type=clean_text(errors, "unit_type", data.get("unit_type"), limit=50),
        notes=clean_text(errors, "notes", data.get("notes"), limit=1000, multiline=True))
    raise_if(errors)
    row.request_hash = _fingerprint(row)
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                row.save(force_insert=True)
        else:  # one statement in autocommit: no BEGIN and COMMIT round trips of its own
            row.save(force_insert=True)
    except IntegrityError:
        done = LeadIntake.objects.filter(source=source,
                                         idempotency_key=idempotency_key).first()
        if not idempotency_key or done is None:
            raise
        if done.request_hash != row.request_hash:
            raise IntakeKeyReused from None
        return done, True
    transaction.on_commit(kick)
    return row, False


def _fingerprint(row: LeadIntake) -> str:
    values = [row.name, row.phone, str(row.budget_wan or ""), row.timing, row.unit_type,
              row.notes]
    return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode()).hexdigest()


def kick() -> None:
    """Wakes the worker, once per KICK_SECONDS and web process however many posts come:
    the worker's run lingers LINGER_SECONDS (> KICK_SECONDS) after the queue empties, so a
    post that found the flag set is still seen by the run that flag started."""
    if runs_inline() or cache.add(KICK_KEY, 1, KICK_SECONDS):
        lead_intake_process.enqueue()


def runs_inline() -> bool:
    """The immediate backend runs the task inside the request: no flag, no lingering."""
    from django.tasks import task_backends
    from django.tasks.backends.immediate import ImmediateBackend

    return isinstance(task_backends[lead_intake_process.backend], ImmediateBackend)


def intake_drain(*, linger: float = 0) -> int:
    """Works the queue until it has stayed empty for `linger` seconds; returns the rows
    worked."""
    worked = 0
    idle_since = time.monotonic()
    while True:
        done = intake_process()
        worked += done
        if done:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= linger:
            return worked
        else:
            time.sleep(POLL_SECONDS)


def intake_process(*, batch_size: int | None = None) -> int:
    """Makes leads of the next batch of waiting rows, in one transaction; returns how many
    rows it took. Two workers never take the same row: each locks its batch and skips the
    rows locked by another (PostgreSQL), and marks them with its claim in the transaction."""
    if batch_size is None:
        batch_size = SQLITE_BATCH_SIZE if connection.vendor == "sqlite" else BATCH_SIZE
    token = uuid.uuid4().hex
    with transaction.atomic():
        # PostgreSQL: rows another worker holds are skipped, not waited for (SQLite has one
        # writer anyway, so its workers take turns).
        waiting = list(LeadIntake.objects.select_for_update(skip_locked=True)
                       .filter(state=LeadIntake.State.PENDING, claim="").order_by("id")
                       .values_list("pk", flat=True)[:batch_size])
        if not waiting or not LeadIntake.objects.filter(pk__in=waiting, claim="").update(
                claim=token):
            return 0
        rows = list(LeadIntake.objects.filter(claim=token)
                    .select_related("source__channel", "source__project").order_by("id"))
        _work(rows)
        _record(rows, timezone.now())
    return len(rows)


def _record(rows: list[LeadIntake], now) -> None:
    """Writes every row's outcome in one UPDATE … FROM (VALUES …) (PostgreSQL and SQLite
    alike; `bulk_update`'s CASE per row and field cost more than the batch's own work)."""
    table = LeadIntake._meta.db_table
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    params: list[Any] = [now]
    for row in rows:
        params += [row.pk, row.state, row.lead_id,
                   None if row.duplicate is None else int(row.duplicate), row.error]
    sql = (f"UPDATE {table} SET state = CAST(v.column2 AS TEXT), "  # noqa: S608
           "lead_id = CAST(v.column3 AS BIGINT), "
           "duplicate = (CAST(v.column4 AS INTEGER) = 1), error = CAST(v.column5 AS TEXT), "
           f"processed_at = %s FROM (VALUES {values}) AS v "
           f"WHERE {table}.id = CAST(v.column1 AS BIGINT)")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _work(rows: list[LeadIntake]) -> None:
    now = timezone.now()
    batched, one_by_one, customers = _sort_out(rows, now)
    by_door: dict[tuple[int, int], list[LeadIntake]] = defaultdict(list)
    for row in batched:
        by_door[(row.source.project_id, row.source.channel_id)].append(row)
    for (project_id, channel_id), group in by_door.items():
        try:
            with transaction.atomic():
                _capture_batch(project_id, channel_id, group, customers)
        except Exception:
            # One bad row must not hold the queue: the group goes again one by one, where a
            # row that fails is refused with the reason and the others are made.
            logger.exception("lead intake: batch of %s rows failed, one by one", len(group))
            one_by_one += group
    # After the batches: the second post of a phone in the batch finds its open lead.
    for row in sorted(one_by_one, key=lambda row: row.pk):
        _capture_one(row)
    for row in rows:
        row.processed_at = now


def _sort_out(rows: list[LeadIntake], now
              ) -> tuple[list[LeadIntake], list[LeadIntake], dict[str, Customer]]:
    """Splits the batch: new people and people already in the ledger (made in batches), and
    the rest (an open lead of the project, an agency's claim, a source switched off, a
    phone twice in the batch), which go through `lead_capture` one by one. Returns the
    ledger's records of the batch's phones too."""
    phones = {row.phone for row in rows}
    projects = {row.source.project_id for row in rows}
    open_leads = set(Lead.objects.filter(project_id__in=projects, phone__in=phones,
                                         status__in=Lead.OPEN)
                     .values_list("project_id", "phone"))
    customers = customers_by_phone(phones)
    keys = {services.claim_key_of(phone) for phone in phones} - {""}
    claims = defaultdict(set)
    if keys:
        for project_id, key, phone in Registration.objects.filter(
                project_id__in=projects, claim_key__in=keys,
                status__in=[Registration.Status.ACCEPTED, Registration.Status.VISITED],
                protected_until__gt=now).values_list("project_id", "claim_key", "phone"):
            claims[(project_id, key)].add(phone)
    seen: set[tuple[int, str]] = set()
    batched, one_by_one = [], []
    for row in rows:
        source = row.source
        door = (source.project_id, row.phone)
        claimed = claims.get((source.project_id, services.claim_key_of(row.phone)), set())
        plain = (source.is_active and source.channel.is_active and source.project.is_active
                 and not source.channel.is_referral and door not in open_leads
                 and not ({"", row.phone} & claimed) and door not in seen)
        seen.add(door)
        (batched if plain else one_by_one).append(row)
    return batched, one_by_one, customers


def _capture_one(row: LeadIntake) -> None:
    source = row.source
    try:
        with transaction.atomic():
            result = services.lead_capture(
                project=source.project, source=source, method=Lead.Method.API,
                name=row.name, phone=row.phone, budget_wan=row.budget_wan, timing=row.timing,
                unit_type=row.unit_type, notes=row.notes,
                idempotency_key=row.idempotency_key, request_hash=row.request_hash)
    except services.LeadAlreadyCaptured as done:
        row.state, row.lead_id, row.duplicate = LeadIntake.State.DONE, done.lead_id, False
    except ValidationError as exc:
        row.state = LeadIntake.State.REJECTED
        row.error = "; ".join(f"{field}: {' '.join(messages)}"
                              for field, messages in exc.message_dict.items())[:1000]
    except Exception:
        logger.exception("lead intake: row %s could not be captured", row.pk)
        row.state = LeadIntake.State.REJECTED
        row.error = str(_("The lead could not be captured because of an error on our side. "
                          "Send it again with a new Idempotency-Key."))
    else:
        row.state, row.lead_id = LeadIntake.State.DONE, result.lead.pk
        row.duplicate = result.duplicate


def _capture_batch(project_id: int, channel_id: int, rows: list[LeadIntake],
                   customers: dict[str, Customer]) -> None:
    """Leads of one project and channel, graded, each given to its known customer's own
    consultant or else the roster's next turn, and written with their events, the known
    people's contacts and the notices in one INSERT each."""
    source = rows[0].source
    cfg = config.project_config(project_id, services.today_local())
    people = known.known_people(
        list({customers[row.phone].pk: customers[row.phone] for row in rows
              if row.phone in customers}.values()), project_id)
    leads, results = [], []
    for row in rows:
        customer = customers.get(row.phone)
        lead = Lead(project=source.project, channel=source.channel, source=row.source,
                    method=Lead.Method.API, name=row.name, phone=row.phone,
                    budget_wan=row.budget_wan, timing=row.timing, unit_type=row.unit_type,
                    notes=row.notes, idempotency_key=row.idempotency_key,
                    request_hash=row.request_hash, customer=customer,
                    known_customer=customer is not None)
        result = grading.grade_for(facts=services.grade_facts(lead), rules=cfg.grading_rules,
                                   policy=cfg.policy)
        lead.grade, lead.grade_points, lead.grade_reason = (result.grade, result.points,
                                                            result.reason)
        leads.append(lead)
        results.append(result)
    turns = _turns(leads, results, people, project_id, channel_id, cfg)
    now = timezone.now()
    for lead, (assignee_id, _why) in zip(leads, turns, strict=True):
        if assignee_id:
            lead.assigned_to_id, lead.assigned_at = assignee_id, now
            lead.status = Lead.Status.ASSIGNED
    Lead.objects.bulk_create(leads)
    managers = (services.managers_of(project_id)
                if any(not assignee for assignee, _why in turns) else [])
    events: list[LeadEvent] = []
    notices = []
    for lead, result, (assignee_id, why) in zip(leads, results, turns, strict=True):
        events += services.new_lead_events(lead, reason=result.reason, why=why,
                                           known=lead.customer is not None)
        notices.append(services.new_lead_notice(lead, reason=result.reason, why=why,
                                                managers=managers))
        if lead.customer is not None:
            notices.append(known.owner_notice(lead, lead.customer, assignee_id))
    LeadEvent.objects.bulk_create(events)
    known.log_known_contacts([(lead, source.channel, people[lead.customer.pk])
                              for lead in leads if lead.customer is not None])
    notify_many([notice for notice in notices if notice is not None])
    for row, lead in zip(rows, leads, strict=True):
        row.state, row.lead, row.duplicate = LeadIntake.State.DONE, lead, False


def _turns(leads: list[Lead], results: list, people: dict[int, known.KnownPerson],
           project_id: int, channel_id: int, cfg: config.ProjectConfig
           ) -> list[tuple[int | None, str]]:
    """(assignee, why) of each lead: a known customer's own consultant when they work the
    project, else the rules and the roster's turns (taken in one statement)."""
    own = [bool(lead.customer and people[lead.customer.pk].owner_works_here)
           for lead in leads]
    others = iter(services.assign_many(
        project_id=project_id, channel_id=channel_id,
        grades=[result.grade for result, is_own in zip(results, own, strict=True)
                if not is_own], cfg=cfg))
    return [(lead.customer.owner_id, _("the customer's own consultant")) if is_own
            else next(others) for lead, is_own in zip(leads, own, strict=True)]


def intake_purge(*, days: int = KEEP_DAYS) -> int:
    """Forgets worked rows after `days` (the leads stay; a source asking later is told the
    receipt is unknown)."""
    cutoff = timezone.now() - datetime.timedelta(days=days)
    deleted, _ = LeadIntake.objects.filter(~Q(state=LeadIntake.State.PENDING),
                                           received_at__lt=cutoff).delete()
    return deleted


# --- background tasks (imported by `tasks`, where the scheduler finds them) ---------------

@task
def lead_intake_process() -> int:
    """Makes leads of everything waiting in the intake (woken by `kick`)."""
    return intake_drain(linger=0 if runs_inline() else LINGER_SECONDS)


@cron("* * * * *")
@task
def lead_intake_sweep() -> int:
    """Every minute, a backstop: rows left waiting by a worker that stopped mid-run (its
    claim rolled back with its transaction), or a kick lost with a cache that restarted."""
    return intake_drain()


@cron("40 3 * * *")
@task
def lead_intake_purge() -> int:
    """Nightly: worked rows older than KEEP_DAYS are forgotten."""
    return intake_purge()
