import datetime

import pytest
from django.utils import timezone

from anju.core.models import Notification
from anju.customers import selectors, services, tasks
from anju.customers.models import Interaction


@pytest.fixture
def follow_up(people, make_customer):
    def make(hours_from_now, user=None, customer=None):
        user = user or people["consultant"]
        customer = customer or make_customer("张三", owner=user)
        now = timezone.now()
        return Interaction.objects.create(
            customer=customer, user=user, kind="call",
            occurred_at=now - datetime.timedelta(days=5), outcome="说要考虑",
            next_follow_up_at=now + datetime.timedelta(hours=hours_from_now))

    return make


def test_due_follow_up_reaches_the_inbox_once(people, follow_up):
    due = follow_up(-1)
    follow_up(5)  # not yet due
    assert services.follow_up_reminders_send() == 1
    assert services.follow_up_reminders_send() == 0
    notes = Notification.objects.filter(recipient=people["consultant"],
                                        kind="customers.follow_up_due")
    assert notes.count() == 1
    assert "张三" in notes.get().title
    due.refresh_from_db()
    assert due.reminded_at is not None


def test_overdue_follow_up_is_flagged_to_the_team_leader_once(people, follow_up, settings):
    settings.ANJU_FOLLOW_UP_ESCALATE_HOURS = 24
    late = follow_up(-30)
    follow_up(-2)  # overdue, but not by 24 hours
    assert services.follow_ups_escalate() == 1
    assert services.follow_ups_escalate() == 0
    flagged = Notification.objects.filter(kind="customers.follow_up_overdue")
    assert list(flagged.values_list("recipient", flat=True)) == [people["manager"].pk]
    late.refresh_from_db()
    assert late.escalated_at is not None


def test_escalation_hours_come_from_settings(people, follow_up, settings):
    settings.ANJU_FOLLOW_UP_ESCALATE_HOURS = 1
    follow_up(-2)
    assert services.follow_ups_escalate() == 1


def test_done_follow_ups_are_left_alone(people, follow_up):
    item = follow_up(-30)
    services.follow_up_done(actor=people["consultant"], interaction=item)
    assert services.follow_up_reminders_send() == 0
    assert services.follow_ups_escalate() == 0


def test_periodic_task_runs_both(people, follow_up):
    follow_up(-30)
    result = tasks.follow_ups_remind_and_escalate.enqueue()
    assert result.return_value == {"reminded": 1, "escalated": 1}


def test_follow_ups_due_and_overdue_for_manager(people, follow_up, make_customer):
    overdue = follow_up(-30)
    today_item = follow_up(0.01)
    follow_up(48)
    follow_up(-30, user=people["peer"])
    due = selectors.follow_ups_due(user=people["consultant"])
    assert due["overdue"] == [overdue]
    assert due["today"] == [today_item] or timezone.localtime(
        today_item.next_follow_up_at).date() != timezone.localdate()
    team = selectors.follow_ups_overdue_for_manager(manager=people["manager"])
    assert len(team) == 2
    assert selectors.follow_ups_overdue_for_manager(manager=people["consultant"]) == []


def test_dashboard_tile_counts_due(people, follow_up, client_for):
    follow_up(-3)
    follow_up(-30)
    from anju.customers.selectors import follow_ups_due_count

    assert follow_ups_due_count(user=people["consultant"]) == 2
    response = client_for(people["consultant"]).get("/")
    assert response.status_code == 200
