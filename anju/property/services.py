"""Every write of the property app: one function per business action, each transactional.

A unit's status moves only through `unit_transition`: inside one transaction it bumps the
building's board revision (which also serialises the moves of one building on PostgreSQL),
locks the unit row, checks the move against `TRANSITIONS` (and the caller's
`expected_from`), changes the row with a conditional UPDATE, writes the history row and the
audit entry, and sends `unit_status_changed` once the transaction commits. Anything else
raises `UnitTransitionError` with a translated reason and a stable `code`."""

from collections.abc import Collection
from copy import copy
from typing import Any

from django.db import transaction
from django.db.models import F, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core import audit

from .models import Building, Unit, UnitStatusChange
from .signals import unit_status_changed

S = Unit.Status

# The legal moves. held/reserved/contracted come from sales deals; locked/available by sales
# control (the `control_sales` right).
TRANSITIONS: dict[str, frozenset[str]] = {
    S.AVAILABLE: frozenset({S.HELD, S.RESERVED, S.LOCKED}),
    S.HELD: frozenset({S.AVAILABLE, S.RESERVED}),
    S.RESERVED: frozenset({S.CONTRACTED, S.AVAILABLE}),
    S.CONTRACTED: frozenset({S.DELIVERED, S.AVAILABLE}),
    S.DELIVERED: frozenset(),
    S.LOCKED: frozenset({S.AVAILABLE}),
}

# Moves that take a unit off the market: refused as "taken" when the unit is no longer free.
TAKING = frozenset({S.HELD, S.RESERVED, S.LOCKED})


class UnitTransitionError(Exception):
    """A refused unit move. `message` is translated and says why; `code` is one of
    "not_found", "unknown_status", "unit_taken", "illegal_move", "state_changed",
    "forbidden", "reason_required"."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


def _status_label(status: str) -> str:
    return str(S(status).label) if status in S.values else status


def _refusal(unit: Unit, to_status: str, expected_from: Collection[str] | None
             ) -> UnitTransitionError | None:
    current = unit.status
    legal = to_status in TRANSITIONS.get(current, frozenset())
    expected = expected_from is None or current in expected_from
    if legal and expected:
        return None
    if to_status in TAKING and current != S.AVAILABLE:
        if current == S.LOCKED:
            message = _("Unit %(unit)s is withheld by sales control.")
        else:
            message = _("Unit %(unit)s is already taken (%(status)s).")
        return UnitTransitionError(
            message % {"unit": unit.label, "status": _status_label(current)}, "unit_taken")
    if not legal:
        return UnitTransitionError(
            _("Unit %(unit)s cannot go from %(from)s to %(to)s.") % {
                "unit": unit.label, "from": _status_label(current),
                "to": _status_label(to_status)},
            "illegal_move")
    return UnitTransitionError(
        _("Unit %(unit)s is %(status)s now, not %(expected)s.") % {
            "unit": unit.label, "status": _status_label(current),
            "expected": " / ".join(_status_label(s) for s in sorted(expected_from or ()))},
        "state_changed")


def building_revision_bump(*, building_id: int) -> int:
    """Advance a building's board revision and return it (inside the caller's transaction)."""
    Building.objects.filter(pk=building_id).update(revision=F("revision") + 1)
    return Building.objects.filter(pk=building_id).values_list("revision", flat=True).get()


def unit_transition(*, unit_id: int, to_status: str, actor: Any, reason: str = "",
                    reference: str = "", expected_from: Collection[str] | None = None) -> Unit:
    """Move unit `unit_id` to `to_status`; return the unit as saved.

    Raises `UnitTransitionError` (nothing written) when the unit does not exist, the status
    is unknown, the move is not in `TRANSITIONS`, or the unit is not in `expected_from`."""
    if to_status not in S.values:
        raise UnitTransitionError(
            _("“%(status)s” is not a unit status.") % {"status": to_status}, "unknown_status")
    with transaction.atomic():
        # The building row first (its revision), then the unit: one lock order everywhere.
        Building.objects.filter(
            pk=Subquery(Unit.objects.filter(pk=unit_id).values("building_id")[:1])
        ).update(revision=F("revision") + 1)
        try:
            unit = (Unit.objects.select_for_update(of=("self",)).select_related("building")
                    .get(pk=unit_id))
        except Unit.DoesNotExist:
            raise UnitTransitionError(_("There is no such unit."), "not_found") from None
        refusal = _refusal(unit, to_status, expected_from)
        if refusal is not None:
            raise refusal
        from_status = unit.status
        now = timezone.now()
        revision = unit.building.revision
        matched = Unit.objects.filter(pk=unit.pk, status=from_status).update(
            status=to_status, status_changed_at=now, revision=revision,
            version=F("version") + 1, updated_at=now)
        if not matched:  # only without a row lock: someone moved it between read and write
            raise UnitTransitionError(
                _("Unit %(unit)s was changed by someone else; try again.") % {
                    "unit": unit.label}, "unit_taken")
        after = copy(unit)
        after.status, after.status_changed_at, after.revision = to_status, now, revision
        after.version, after.updated_at = unit.version + 1, now
        UnitStatusChange.objects.create(unit=after, from_status=from_status,
                                        to_status=to_status, actor=actor if _is_user(actor)
                                        else None, reason=reason or "",
                                        reference=reference or "")
        audit.record_update(before=unit, after=after)
        transaction.on_commit(lambda: unit_status_changed.send(
            sender=Unit, unit=after, from_status=from_status, to_status=to_status,
            reference=reference or ""))
    return after


def _is_user(actor: Any) -> bool:
    return actor is not None and getattr(actor, "pk", None) is not None and getattr(
        actor, "is_authenticated", False)


# --- sales control ---------------------------------------------------------------------------

def _require_control(actor: Any) -> None:
    if not (_is_user(actor) and actor.may("control_sales")):
        raise UnitTransitionError(
            _("Only users with the sales-control right may lock or release units."),
            "forbidden")


def _require_visible(actor: Any, unit_id: int) -> None:
    if not Unit.objects.visible_to(actor).filter(pk=unit_id).exists():
        raise UnitTransitionError(_("There is no such unit."), "not_found")


def unit_lock(*, unit_id: int, actor: Any, reason: str) -> Unit:
    """Sales control (销控): withhold an available unit from sale, with a reason."""
    _require_control(actor)
    _require_visible(actor, unit_id)
    reason = (reason or "").strip()
    if not reason:
        raise UnitTransitionError(_("Give a reason for locking the unit."), "reason_required")
    return unit_transition(unit_id=unit_id, to_status=S.LOCKED, actor=actor, reason=reason,
                           expected_from={S.AVAILABLE})


def unit_release(*, unit_id: int, actor: Any, reason: str = "") -> Unit:
    """Sales control: put a locked unit back on sale."""
    _require_control(actor)
    _require_visible(actor, unit_id)
    return unit_transition(unit_id=unit_id, to_status=S.AVAILABLE, actor=actor,
                           reason=(reason or "").strip(), expected_from={S.LOCKED})
