"""Who sees which units, and the side-panel action registry higher apps plug into."""

import pytest
from django.urls import path

from anju.core.registry import DuplicateKeyError
from anju.property.board import UnitAction, actions_for, unit_actions
from anju.property.models import Unit, UnitStatusChange
from anju.property.selectors import unit_visible_to
from anju.property.services import unit_transition


def test_units_are_scoped_by_project(org, staff, make_building):
    make_building(org["a"], code="1")
    make_building(org["b"], code="2")
    make_building(org["c"], code="3")
    labels = lambda user: {u.label[0] for u in Unit.objects.visible_to(user)}  # noqa: E731
    assert labels(staff["consultant"]) == {"1"}
    assert labels(staff["manager"]) == {"1", "2"}
    assert labels(staff["outsider"]) == {"3"}
    assert labels(staff["admin"]) == {"1", "2", "3"}
    assert set(unit_visible_to(staff["consultant"])) == set(
        Unit.objects.visible_to(staff["consultant"]))


def test_history_is_scoped(org, staff, make_building):
    unit = make_building(org["a"], floors=1, per_floor=1).units.get()
    unit_transition(unit_id=unit.pk, to_status="held", actor=staff["consultant"])
    assert UnitStatusChange.objects.visible_to(staff["consultant"]).count() == 1
    assert UnitStatusChange.objects.visible_to(staff["outsider"]).count() == 0


def _noop(request, pk):  # pragma: no cover - only reversed
    return None


urlpatterns = [path("x/<int:pk>/hold/", _noop, name="test_hold")]


@pytest.fixture
def registered(settings):
    settings.ROOT_URLCONF = __name__
    action = UnitAction(key="test.hold", label="Hold", url_name="test_hold", order=5,
                        visible=lambda user, unit: unit.status == "available")
    broken = UnitAction(key="test.broken", label="Broken", url_name="nowhere:x", order=6)
    unit_actions.register(action)
    unit_actions.register(broken)
    yield action
    unit_actions.unregister("test.hold")
    unit_actions.unregister("test.broken")


def test_unit_actions_registry(registered, unit, staff):
    bound = actions_for(staff["consultant"], unit)
    assert [(a.key, a.url) for a in bound if a.key.startswith("test.")] == [
        ("test.hold", f"/x/{unit.pk}/hold/")]
    unit.status = "reserved"
    assert "test.hold" not in [a.key for a in actions_for(staff["consultant"], unit)]
    with pytest.raises(DuplicateKeyError):
        unit_actions.register(registered)
