"""The unit state machine: every legal move works and leaves history, every illegal one is
refused with a reason and writes nothing; a second move from the same state fails cleanly."""

import itertools
import threading

import pytest
from auditlog.models import LogEntry
from django.db import connection, connections
from django.utils import translation

from anju.property.models import Building, Unit, UnitStatusChange
from anju.property.services import TRANSITIONS, UnitTransitionError, unit_transition
from anju.property.signals import unit_status_changed

S = Unit.Status
ALL_MOVES = list(itertools.product(S.values, S.values))
LEGAL = [(a, b) for a, b in ALL_MOVES if b in TRANSITIONS[a]]
ILLEGAL = [(a, b) for a, b in ALL_MOVES if b not in TRANSITIONS[a]]


def test_transitions_table_is_the_agreed_one():
    assert {k: set(v) for k, v in TRANSITIONS.items()} == {
        "available": {"held", "reserved", "locked"},
        "held": {"available", "reserved"},
        "reserved": {"contracted", "available"},
        "contracted": {"delivered", "available"},
        "delivered": set(),
        "locked": {"available"},
    }
    assert len(LEGAL) == 10 and len(ILLEGAL) == 26


def put(unit, status):
    Unit.objects.filter(pk=unit.pk).update(status=status)


@pytest.fixture
def received():
    events = []

    def receiver(sender, **kwargs):
        events.append(kwargs)

    unit_status_changed.connect(receiver)
    yield events
    unit_status_changed.disconnect(receiver)


@pytest.mark.parametrize(("from_status", "to_status"), LEGAL)
def test_legal_move(unit, staff, received, from_status, to_status,
                    django_capture_on_commit_callbacks):
    put(unit, from_status)
    revision = Building.objects.get(pk=unit.building_id).revision
    with django_capture_on_commit_callbacks(execute=True):
        moved = unit_transition(unit_id=unit.pk, to_status=to_status, actor=staff["manager"],
                                reason="测试", reference="deal:7")
    unit.refresh_from_db()
    assert moved.status == unit.status == to_status
    assert unit.version == 2 and unit.status_changed_at is not None
    assert unit.revision == revision + 1 == Building.objects.get(pk=unit.building_id).revision
    change = UnitStatusChange.objects.get(unit=unit)
    assert (change.from_status, change.to_status, change.actor, change.reason,
            change.reference) == (from_status, to_status, staff["manager"], "测试", "deal:7")
    assert received == [{"signal": unit_status_changed, "unit": moved,
                         "from_status": from_status, "to_status": to_status,
                         "reference": "deal:7"}]
    entry = LogEntry.objects.get_for_object(unit).get()
    assert entry.changes_dict["status"] == [from_status, to_status]


@pytest.mark.parametrize(("from_status", "to_status"), ILLEGAL)
def test_illegal_move_is_refused_and_writes_nothing(unit, staff, received, from_status,
                                                    to_status,
                                                    django_capture_on_commit_callbacks):
    put(unit, from_status)
    with django_capture_on_commit_callbacks(execute=True), \
            pytest.raises(UnitTransitionError) as error:
        unit_transition(unit_id=unit.pk, to_status=to_status, actor=staff["manager"])
    unit.refresh_from_db()
    assert unit.status == from_status and unit.version == 1
    assert Building.objects.get(pk=unit.building_id).revision == 0
    assert not UnitStatusChange.objects.exists() and not received
    assert "3-1" in error.value.message
    if to_status in {"held", "reserved", "locked"} and from_status != "available":
        assert error.value.code == "unit_taken"
    else:
        assert error.value.code == "illegal_move"


@pytest.fixture
def english():
    with translation.override("en"):
        yield


def test_refusal_messages_say_why(unit, staff, english):
    put(unit, "reserved")
    with pytest.raises(UnitTransitionError) as error:
        unit_transition(unit_id=unit.pk, to_status="reserved", actor=staff["manager"])
    assert error.value.code == "unit_taken"
    assert str(error.value) == "Unit 3-101 is already taken (reserved)."
    put(unit, "locked")
    with pytest.raises(UnitTransitionError) as error:
        unit_transition(unit_id=unit.pk, to_status="held", actor=staff["manager"])
    assert str(error.value) == "Unit 3-101 is withheld by sales control."
    put(unit, "delivered")
    with pytest.raises(UnitTransitionError) as error:
        unit_transition(unit_id=unit.pk, to_status="available", actor=staff["manager"])
    assert (error.value.code, str(error.value)) == (
        "illegal_move", "Unit 3-101 cannot go from delivered to available.")


def test_refusal_in_chinese_by_default(unit, staff):
    put(unit, "reserved")
    with pytest.raises(UnitTransitionError) as error:
        unit_transition(unit_id=unit.pk, to_status="held", actor=staff["manager"])
    assert str(error.value) == "房源 3-101 已被占用（认购）。"


def test_expected_from_refuses_a_moved_unit(unit, staff, english):
    put(unit, "available")
    with pytest.raises(UnitTransitionError) as error:
        unit_transition(unit_id=unit.pk, to_status="reserved", actor=staff["manager"],
                        expected_from={"held"})
    assert error.value.code == "state_changed"
    assert "available" in str(error.value) and "held" in str(error.value)
    put(unit, "held")
    moved = unit_transition(unit_id=unit.pk, to_status="reserved", actor=staff["manager"],
                            expected_from={"held"})
    assert moved.status == "reserved"


def test_unknown_status_and_missing_unit(unit, staff):
    with pytest.raises(UnitTransitionError) as error:
        unit_transition(unit_id=unit.pk, to_status="sold", actor=staff["manager"])
    assert error.value.code == "unknown_status"
    with pytest.raises(UnitTransitionError) as error:
        unit_transition(unit_id=unit.pk + 999, to_status="held", actor=staff["manager"])
    assert error.value.code == "not_found"


def test_second_move_from_the_same_state_fails_cleanly(unit, staff):
    # Two consultants both saw the unit available and both press "reserve".
    first = unit_transition(unit_id=unit.pk, to_status="reserved", actor=staff["manager"],
                            reference="deal:1", expected_from={"available"})
    with pytest.raises(UnitTransitionError) as error:
        unit_transition(unit_id=unit.pk, to_status="reserved", actor=staff["consultant"],
                        reference="deal:2", expected_from={"available"})
    assert first.status == "reserved"
    assert error.value.code == "unit_taken"
    assert list(UnitStatusChange.objects.values_list("reference", flat=True)) == ["deal:1"]


def test_system_actor_is_allowed(unit):
    moved = unit_transition(unit_id=unit.pk, to_status="held", actor=None,
                            reason="expired hold")
    assert moved.status == "held"
    assert UnitStatusChange.objects.get().actor is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.only_postgresql
def test_concurrent_moves_one_wins(org, make_user, make_building):
    """Eight threads race to reserve one unit on their own connections: exactly one wins,
    the others get "unit_taken", the history holds one move."""
    user = make_user("racer", "sales_manager", projects=[org["a"]])
    building = make_building(floors=1, per_floor=1, code="9")
    target = building.units.get()
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n):
        try:
            barrier.wait()
            try:
                unit_transition(unit_id=target.pk, to_status="reserved", actor=user,
                                reference=f"deal:{n}", expected_from={"available"})
                result = "ok"
            except UnitTransitionError as error:
                result = error.code
            with lock:
                outcomes.append(result)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok"] + ["unit_taken"] * 7
    assert UnitStatusChange.objects.filter(unit=target).count() == 1
    assert Unit.objects.get(pk=target.pk).status == "reserved"
    assert connection.vendor == "postgresql"
