"""The flows of every type from one engine: legal moves, refused moves with reasons, the
callback once (also under a race), reopening, transfer, re-dispatch, merge, 一线处理."""

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from anju.aftersales.models import Ticket, TicketCallback, TicketEvent
from anju.aftersales.tickets import services
from anju.aftersales.tickets.flows import IllegalMove
from anju.core.models import Notification

from .tickets_fixtures import *  # noqa: F403
from .tickets_fixtures import image_file

pytestmark = pytest.mark.django_db


def run_to_closed(ticket, svc):
    agent, worker = svc["agent"], svc["worker"]
    services.ticket_task(actor=agent, ticket_id=ticket.pk)
    services.ticket_dispatch(actor=agent, ticket_id=ticket.pk, user_id=worker.pk)
    services.ticket_accept(actor=worker, ticket_id=ticket.pk)
    services.ticket_start(actor=worker, ticket_id=ticket.pk)
    services.ticket_complete(actor=worker, ticket_id=ticket.pk, note="已更换密封圈",
                             photos=[image_file()])
    services.ticket_confirm(actor=agent, ticket_id=ticket.pk, on_behalf=True)
    return services.ticket_close(actor=agent, ticket_id=ticket.pk)


def test_a_repair_goes_the_whole_way(new_ticket, svc, place):
    ticket = new_ticket()
    run_to_closed(ticket, svc)
    ticket = services.ticket_callback(actor=svc["agent"], ticket_id=ticket.pk, score=5,
                                      comment="满意")
    ticket.refresh_from_db()
    assert ticket.status == "called_back" and ticket.satisfaction == 5
    kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds == ["create", "task", "dispatch", "accept", "start", "complete", "confirm",
                     "close", "callback"]
    assert Notification.objects.filter(recipient=svc["worker"],
                                       kind="ticket.dispatched").count() == 1
    assert ticket.photos.filter(stage="completion").count() == 1


def test_the_owner_confirms_and_rates_through_the_portal_services(new_ticket, svc, place):
    ticket = new_ticket()
    agent, worker = svc["agent"], svc["worker"]
    services.ticket_dispatch(actor=agent, ticket_id=ticket.pk, user_id=worker.pk)
    services.ticket_accept(actor=worker, ticket_id=ticket.pk)
    services.ticket_complete(actor=worker, ticket_id=ticket.pk, photos=[image_file()])
    owner = place["owner"]
    with pytest.raises(PermissionDenied):  # another owner
        services.ticket_confirm(actor=None, ticket_id=ticket.pk,
                                customer_id=place["owner2"].pk)
    services.ticket_confirm(actor=None, ticket_id=ticket.pk, customer_id=owner.pk)
    with pytest.raises(PermissionDenied):
        services.ticket_rate(actor=None, ticket_id=ticket.pk, score=5,
                             customer_id=place["owner2"].pk)
    services.ticket_rate(actor=None, ticket_id=ticket.pk, score=4, comment="还行",
                         customer_id=owner.pk)
    with pytest.raises(IllegalMove) as error:
        services.ticket_rate(actor=None, ticket_id=ticket.pk, score=5, customer_id=owner.pk)
    assert error.value.code == "already_recorded"
    ticket.refresh_from_db()
    assert ticket.status == "confirmed" and ticket.satisfaction == 4
    services.ticket_close(actor=agent, ticket_id=ticket.pk)
    with pytest.raises(IllegalMove):  # the owner's rating was this round's callback
        services.ticket_callback(actor=agent, ticket_id=ticket.pk, score=5)


def test_illegal_moves_are_refused_with_a_reason(new_ticket, svc):
    ticket = new_ticket()
    with pytest.raises(IllegalMove) as error:
        services.ticket_close(actor=svc["agent"], ticket_id=ticket.pk)
    assert "received" in str(error.value) or "已接待" in str(error.value)
    with pytest.raises(IllegalMove):
        services.ticket_accept(actor=svc["agent"], ticket_id=ticket.pk)
    with pytest.raises(IllegalMove):
        services.ticket_callback(actor=svc["agent"], ticket_id=ticket.pk, score=5)
    ticket.refresh_from_db()
    assert ticket.status == "received"
    assert TicketEvent.objects.filter(ticket=ticket).count() == 1


def test_completion_needs_a_photo_and_only_the_worker_or_staff(new_ticket, svc):
    ticket = new_ticket()
    services.ticket_dispatch(actor=svc["agent"], ticket_id=ticket.pk, user_id=svc["worker"].pk)
    with pytest.raises(PermissionDenied):
        services.ticket_accept(actor=svc["sales"], ticket_id=ticket.pk)
    services.ticket_accept(actor=svc["worker"], ticket_id=ticket.pk)
    with pytest.raises(ValidationError) as error:
        services.ticket_complete(actor=svc["worker"], ticket_id=ticket.pk)
    assert "photos" in error.value.message_dict


def test_dispatch_needs_an_assignee_and_a_future_deadline(new_ticket, svc):
    import datetime as dt

    ticket = new_ticket()
    with pytest.raises(ValidationError) as error:
        services.ticket_dispatch(actor=svc["agent"], ticket_id=ticket.pk)
    assert "assignee" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.ticket_dispatch(actor=svc["agent"], ticket_id=ticket.pk,
                                 contractor="某防水公司",
                                 deadline=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert "deadline" in error.value.message_dict
    services.ticket_dispatch(actor=svc["agent"], ticket_id=ticket.pk, contractor="某防水公司")
    ticket.refresh_from_db()
    assert ticket.assignee_contractor == "某防水公司" and ticket.task_deadline


def test_a_consultation_may_close_at_once(new_ticket, svc):
    ticket = new_ticket(ticket_type="consultation", location_id=None, component_id=None,
                        category_id=None, description="物业费怎么交？")
    with pytest.raises(ValidationError):  # the answer is required
        services.ticket_close(actor=svc["agent"], ticket_id=ticket.pk)
    services.ticket_close(actor=svc["agent"], ticket_id=ticket.pk, note="在App上缴纳")
    ticket.refresh_from_db()
    assert ticket.status == "closed" and ticket.callback_due is None and ticket.next_due is None
    with pytest.raises(IllegalMove):
        services.ticket_accept(actor=svc["agent"], ticket_id=ticket.pk)


def test_a_complaint_needs_a_callback_and_a_low_score_reopens_it(new_ticket, svc):
    ticket = new_ticket(ticket_type="complaint", description="维修拖了两周没人来")
    run_to_closed(ticket, svc)
    ticket.refresh_from_db()
    assert ticket.status == "closed" and ticket.callback_due is not None
    assert ticket.next_clock == "callback"
    services.ticket_callback(actor=svc["agent"], ticket_id=ticket.pk, score=2,
                             comment="还是漏")
    ticket.refresh_from_db()
    assert ticket.status == "tasked" and ticket.round == 2
    assert TicketCallback.objects.get(ticket=ticket).reopened is True
    assert ticket.next_clock in ("onsite", "resolve")
    # the new round gets its own callback
    services.ticket_dispatch(actor=svc["agent"], ticket_id=ticket.pk, user_id=svc["worker"].pk)
    services.ticket_accept(actor=svc["worker"], ticket_id=ticket.pk)
    services.ticket_complete(actor=svc["worker"], ticket_id=ticket.pk, photos=[image_file()])
    services.ticket_confirm(actor=svc["agent"], ticket_id=ticket.pk, on_behalf=True)
    services.ticket_close(actor=svc["agent"], ticket_id=ticket.pk)
    services.ticket_callback(actor=svc["agent"], ticket_id=ticket.pk, score=5)
    assert TicketCallback.objects.filter(ticket=ticket).count() == 2


def test_praise_is_routed_to_the_praised_team(new_ticket, svc):
    ticket = new_ticket(ticket_type="praise", location_id=None, component_id=None,
                        category_id=None, description="老李修得又快又好",
                        praised_team_id=svc["team"].pk)
    services.ticket_dispatch(actor=svc["agent"], ticket_id=ticket.pk,
                             user_id=svc["worker"].pk)  # ignored: praise goes to the team
    ticket.refresh_from_db()
    assert ticket.assignee_team == svc["team"] and ticket.assignee_user is None
    assert Notification.objects.filter(recipient=svc["manager"],
                                       kind="ticket.dispatched").exists()
    with pytest.raises(IllegalMove):
        services.ticket_accept(actor=svc["agent"], ticket_id=ticket.pk)
    services.ticket_close(actor=svc["agent"], ticket_id=ticket.pk)


def test_self_inspection_closes_without_the_owner(new_ticket, svc, org, lib):
    ticket = new_ticket(unit_id=None, project_id=org["a"].pk, public_area="2号楼屋面",
                        customer_id=None, ticket_type="self_inspection",
                        location_id=lib["屋面"].pk, component_id=lib["屋面防水"].pk)
    services.ticket_dispatch(actor=svc["agent"], ticket_id=ticket.pk, user_id=svc["worker"].pk)
    services.ticket_accept(actor=svc["worker"], ticket_id=ticket.pk)
    services.ticket_complete(actor=svc["worker"], ticket_id=ticket.pk, photos=[image_file()])
    with pytest.raises(PermissionDenied):  # nobody's ticket: no owner may confirm it
        services.ticket_confirm(actor=None, ticket_id=ticket.pk, customer_id=1)
    services.ticket_close(actor=svc["agent"], ticket_id=ticket.pk)
    ticket.refresh_from_db()
    assert ticket.status == "closed" and ticket.next_due is None


def test_transfer_redispatch_reject(new_ticket, svc, make_user, org):
    ticket = new_ticket()
    other = make_user("sagent2", "service_agent", projects=[org["a"]])
    services.ticket_transfer(actor=svc["agent"], ticket_id=ticket.pk, agent_id=other.pk,
                             reason="换班")
    services.ticket_dispatch(actor=other, ticket_id=ticket.pk, user_id=svc["worker"].pk)
    services.ticket_redispatch(actor=other, ticket_id=ticket.pk, contractor="外包水电班")
    ticket.refresh_from_db()
    assert ticket.status == "dispatched" and ticket.received_by == other
    assert ticket.assignee_contractor == "外包水电班" and ticket.assignee_user is None
    services.ticket_accept(actor=other, ticket_id=ticket.pk)
    services.ticket_complete(actor=other, ticket_id=ticket.pk, photos=[image_file()])
    services.ticket_reject(actor=other, ticket_id=ticket.pk, reason="业主说还在滴水")
    ticket.refresh_from_db()
    assert ticket.status == "dispatched" and ticket.resolved_at is None


def test_merge_duplicates(new_ticket, svc):
    keep, duplicate = new_ticket(), new_ticket(photos=[image_file()])
    services.ticket_merge(actor=svc["agent"], ticket_id=duplicate.pk, into_id=keep.pk)
    duplicate.refresh_from_db()
    assert duplicate.status == "merged" and duplicate.merged_into == keep
    assert keep.photos.count() == 1 and duplicate.next_due is None
    assert TicketEvent.objects.filter(ticket=keep, kind="absorb").exists()
    with pytest.raises(ValidationError):
        services.ticket_merge(actor=svc["agent"], ticket_id=keep.pk, into_id=keep.pk)
    with pytest.raises(IllegalMove):
        services.ticket_merge(actor=svc["agent"], ticket_id=duplicate.pk, into_id=keep.pk)


def test_first_line_handling_keeps_headquarters_view(new_ticket, svc, org, make_user):
    ticket = new_ticket(actor=svc["hq"], ticket_type="complaint", description="噪音扰民",
                        first_line=True)
    services.ticket_hand_over(actor=svc["hq"], ticket_id=ticket.pk, team_id=svc["team"].pk)
    ticket.refresh_from_db()
    assert ticket.status == "tasked" and ticket.assignee_team == svc["team"]
    assert Notification.objects.filter(recipient=svc["manager"],
                                       kind="ticket.handed_over").exists()
    # headquarters narrowed to another project still follows the ticket it received
    svc["hq"].scope_level = "project"
    svc["hq"].save()
    svc["hq"].projects.set([org["b"]])
    from anju.accounts.models import User
    from anju.aftersales.tickets.selectors import ticket_visible_to

    assert ticket_visible_to(User.objects.get(pk=svc["hq"].pk)).filter(pk=ticket.pk).exists()


def test_scope_outsiders_cannot_touch(new_ticket, svc):
    ticket = new_ticket()
    for action in (services.ticket_task, services.ticket_accept):
        with pytest.raises(PermissionDenied):
            action(actor=svc["outsider"], ticket_id=ticket.pk)
    with pytest.raises(PermissionDenied):
        services.ticket_callback(actor=svc["outsider"], ticket_id=ticket.pk, score=5)


def test_score_is_checked(new_ticket, svc):
    ticket = new_ticket(ticket_type="consultation", location_id=None, component_id=None,
                        category_id=None, description="问")
    services.ticket_close(actor=svc["agent"], ticket_id=ticket.pk, note="答")
    for bad in (0, 6, "x", None):
        with pytest.raises(ValidationError) as error:
            services.ticket_callback(actor=svc["agent"], ticket_id=ticket.pk, score=bad)
        assert "score" in error.value.message_dict


def test_the_database_refuses_a_second_callback_of_a_round(new_ticket, svc):
    from django.db import IntegrityError, transaction

    ticket = new_ticket()
    TicketCallback.objects.create(ticket=ticket, round=1, source="agent", score=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketCallback.objects.create(ticket=ticket, round=1, source="owner", score=1)


@pytest.mark.only_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_agents_calling_back_at_once_record_one(org, make_user):
    from anju.aftersales.tickets.seed import library_seed
    from anju.customers.models import Customer

    agents = [make_user(f"race{i}", "service_agent", projects=[org["a"]]) for i in range(6)]
    lib = library_seed(company_id=org["first"].pk)
    customer = Customer.objects.create(company=org["first"], name="甲")
    ticket = services.ticket_create(
        actor=agents[0], customer_id=customer.pk, project_id=org["a"].pk, public_area="会所",
        ticket_type="consultation", channel="walk_in", description="问", location_id=None)
    del lib
    services.ticket_close(actor=agents[0], ticket_id=ticket.pk, note="答")
    outcomes, barrier = [], threading.Barrier(len(agents))

    def call(agent):
        try:
            barrier.wait()
            services.ticket_callback(actor=agent, ticket_id=ticket.pk, score=4)
            outcomes.append("ok")
        except IllegalMove as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(a,)) for a in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["wrong_status"] * 5 or outcomes.count("ok") == 1
    assert TicketCallback.objects.filter(ticket=ticket).count() == 1
    assert Ticket.objects.get(pk=ticket.pk).status == "called_back"
