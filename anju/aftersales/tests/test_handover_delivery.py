"""Sign-off hands the unit over in sales too: a deal paid in full becomes delivered and the
unit `delivered`; a deal with money owed refuses the sign-off (naming the amount) and nothing
is written; a unit without a deal in Anju is signed off and its history says so. The
handover officer need not see the deal through the sales scopes."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from anju.aftersales.care import services
from anju.aftersales.care.services import CareError, InspectionLine
from anju.aftersales.care.testing import *  # noqa: F403
from anju.aftersales.care.testing import pay_in_full
from anju.aftersales.models import HandoverEvent, HandoverUnit, SurveyInvitation
from anju.core.money import format_yuan
from anju.property.models import Unit
from anju.sales.models import Deal, DealEvent

pytestmark = pytest.mark.django_db
TOMORROW = timezone.localdate() + datetime.timedelta(days=1)


@pytest.fixture
def batch(estate, care_staff):
    return services.handover_batch_create(
        actor=care_staff["manager"], building=estate["building"], name="7号楼交付",
        starts_on=TOMORROW, ends_on=TOMORROW)


def to_keys(handover: HandoverUnit, actor=None) -> None:
    services.handover_inspect(actor=actor, handover_id=handover.pk,
                              lines=[InspectionLine("客厅", "墙面", ok=True)])
    services.handover_keys(actor=actor, handover_id=handover.pk, key_count=2)


def test_sign_off_of_a_paid_deal_delivers_it_and_the_unit(batch, estate, care_staff):
    agent = care_staff["agent"]
    handover = HandoverUnit.objects.get(batch=batch, unit__label="7-101")
    to_keys(handover, agent)
    pay_in_full(handover.unit)
    services.handover_sign_off(actor=agent, handover_id=handover.pk, signed_by="业主7101")
    deal = Deal.objects.get(unit=handover.unit)
    assert deal.status == "delivered" and deal.delivered_at is not None
    assert Unit.objects.get(pk=handover.unit_id).status == "delivered"
    assert DealEvent.objects.filter(deal=deal, kind="delivered", actor=agent).exists()
    kinds = list(HandoverEvent.objects.filter(handover=handover).values_list("kind", flat=True))
    assert kinds == ["inspected", "keys", "signed", "delivered"]
    # the unit page shows the history
    client = Client()
    client.force_login(agent)
    page = client.get(reverse("aftersales:handover_unit", args=[handover.pk])).content.decode()
    assert 'data-kind="delivered"' in page


def test_sign_off_is_refused_while_money_is_owed_and_nothing_is_written(
        org, batch, estate, care_staff, survey_template):
    survey_template(org["first"], trigger="handover", name="交付满意度调查")
    handover = HandoverUnit.objects.get(batch=batch, unit__label="7-102")
    to_keys(handover)
    Deal.objects.filter(unit=handover.unit).update(received_amount=Decimal("700000.00"))
    with pytest.raises(CareError) as caught:
        services.handover_sign_off(actor=care_staff["agent"], handover_id=handover.pk,
                                   signed_by="业主7102")
    assert caught.value.code == "not_paid"
    assert format_yuan(Decimal("300000.00")) in caught.value.message
    handover.refresh_from_db()
    assert handover.stage == "keys" and handover.signed_at is None and not handover.signed_by
    assert Deal.objects.get(unit=handover.unit).status == "contracted"
    assert Unit.objects.get(pk=handover.unit_id).status == "contracted"
    assert list(HandoverEvent.objects.values_list("kind", flat=True)) == ["inspected", "keys"]
    assert not SurveyInvitation.objects.exists()
    # the page says why, with the amount
    client = Client()
    client.force_login(care_staff["agent"])
    answer = client.post(reverse("aftersales:handover_unit_action", args=[handover.pk, "sign"]),
                         {"signed_by": "业主7102"})
    assert answer.status_code == 409
    assert format_yuan(Decimal("300000.00")) in answer.content.decode()


def test_a_unit_without_a_deal_in_anju_is_signed_off_with_a_note(batch, estate, care_staff):
    building = estate["building"]
    unit = Unit.objects.create(building=building, floor=3, position=1, number="301",
                               label="7-301", built_area=Decimal("98.50"),
                               list_price=Decimal("1000000.00"), status="contracted")
    handover = HandoverUnit.objects.create(batch=batch, unit=unit)
    to_keys(handover)
    done = services.handover_sign_off(actor=care_staff["agent"], handover_id=handover.pk,
                                      signed_by="老业主")
    assert done.stage == "signed"
    note = HandoverEvent.objects.get(handover=handover, kind="no_deal")
    assert "Anju" in note.message or "安居" in note.message
    assert Unit.objects.get(pk=unit.pk).status == "contracted"  # nothing moved in sales


def test_the_handover_officer_delivers_a_deal_they_cannot_see_in_sales(
        org, batch, estate, make_user):
    """A service agent limited to their own rows does not see the consultant's deal in sales,
    yet may sign off a handover of their project: sales delivers by unit for the handover."""
    agent = make_user("own_agent", "service_agent", projects=[org["a"]], scope_level="own")
    handover = HandoverUnit.objects.get(batch=batch, unit__label="7-201")
    assert not Deal.objects.visible_to(agent).filter(unit=handover.unit).exists()
    to_keys(handover, agent)
    pay_in_full(handover.unit)
    services.handover_sign_off(actor=agent, handover_id=handover.pk, signed_by="业主7201")
    assert Deal.objects.get(unit=handover.unit).status == "delivered"


def test_an_already_delivered_deal_is_noted_not_delivered_twice(batch, estate, care_staff):
    handover = HandoverUnit.objects.get(batch=batch, unit__label="7-202")
    to_keys(handover)
    Deal.objects.filter(unit=handover.unit).update(status="delivered",
                                                   delivered_at=timezone.now())
    services.handover_sign_off(actor=None, handover_id=handover.pk, signed_by="业主7202")
    assert HandoverEvent.objects.filter(handover=handover, kind="delivered").exists()
    assert not DealEvent.objects.filter(deal__unit=handover.unit, kind="delivered").exists()
