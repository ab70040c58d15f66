"""Owners are told by SMS when their ticket needs them: completing a repair or complaint
texts its owner once, in the installation's language (Chinese) whatever language the
worker's browser uses, with the portal link, through the pluggable gateway, in a background
task after commit; the log never shows the full number; a ticket without a portal owner (or
whose owner was disabled) texts nobody."""

import logging

import pytest
from django.utils import translation

from anju.aftersales.models import Ticket
from anju.aftersales.tickets import services as tickets

from .portal_fixtures import *  # noqa: F403
from .portal_fixtures import leak, run_ticket_to_completion

pytestmark = pytest.mark.django_db


def repair(agent, estate, lib, owner_label: str, customer) -> Ticket:
    return tickets.ticket_create(
        actor=agent, customer_id=customer.pk, unit_id=estate["units"][owner_label].pk,
        location_id=lib["卫生间"].pk, component_id=lib["天花"].pk,
        category_id=lib["渗漏"].pk, description="卫生间天花渗水")


def test_completion_texts_the_owner_once_in_chinese_with_the_portal_link(
        owners, estate, lib, care_staff, sms, caplog, django_capture_on_commit_callbacks):
    assert leak(lib)  # the library is seeded
    ticket = repair(care_staff["agent"], estate, lib, "7-101", owners["a"].customer)
    translation.activate("en")  # the worker's browser speaks English
    caplog.set_level(logging.INFO)
    with django_capture_on_commit_callbacks(execute=True):
        run_ticket_to_completion(agent=care_staff["agent"], worker=care_staff["agent"],
                                 ticket_id=ticket.pk)
    texts = [text for phone, text in sms]
    assert len(sms) == 1 and sms[0][0] == owners["a"].phone
    assert "已处理完成" in texts[0] and ticket.number in texts[0]
    assert f"/owner/tickets/{ticket.pk}/" in texts[0]
    national = owners["a"].phone[3:]
    assert not any(national in record.getMessage() for record in caplog.records)
    assert any(owners["a"].phone[-4:] in record.getMessage() for record in caplog.records)


def test_a_ticket_without_a_portal_owner_texts_nobody(
        owners, estate, lib, care_staff, sms, django_capture_on_commit_callbacks):
    # 7-201's owner has no portal account
    ticket = repair(care_staff["agent"], estate, lib, "7-201", estate["owners"]["7-201"])
    with django_capture_on_commit_callbacks(execute=True):
        run_ticket_to_completion(agent=care_staff["agent"], worker=care_staff["agent"],
                                 ticket_id=ticket.pk)
    assert sms == []
    # nor does a disabled owner's
    owners["b"].is_active = False
    owners["b"].save(update_fields=["is_active"])
    second = repair(care_staff["agent"], estate, lib, "7-102", owners["b"].customer)
    with django_capture_on_commit_callbacks(execute=True):
        run_ticket_to_completion(agent=care_staff["agent"], worker=care_staff["agent"],
                                 ticket_id=second.pk)
    assert sms == []


def test_a_rolled_back_completion_texts_nobody(owners, estate, lib, care_staff, sms,
                                              django_capture_on_commit_callbacks):
    from django.core.exceptions import ValidationError

    ticket = repair(care_staff["agent"], estate, lib, "7-101", owners["a"].customer)
    tickets.ticket_dispatch(actor=care_staff["agent"], ticket_id=ticket.pk,
                            user_id=care_staff["agent"].pk)
    tickets.ticket_accept(actor=care_staff["agent"], ticket_id=ticket.pk)
    tickets.ticket_start(actor=care_staff["agent"], ticket_id=ticket.pk)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        tickets.ticket_complete(actor=care_staff["agent"], ticket_id=ticket.pk, note="完成",
                                photos=[])  # a repair needs a photo: refused
    assert sms == []
