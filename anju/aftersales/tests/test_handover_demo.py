"""The care demo gives the handover project a checklist of its own (the batch inspects it)
and signs off a unit paid in full, whose deal is then delivered in sales."""

import io

import pytest

from anju.accounts import demo as accounts_demo
from anju.aftersales.care import demo
from anju.aftersales.models import ChecklistTemplate, HandoverBatch, HandoverEvent, HandoverUnit
from anju.core.demo import DemoContext
from anju.customers import demo as customers_demo
from anju.property import demo as property_demo
from anju.sales.deals import demo as deals_demo
from anju.sales.models import Deal

pytestmark = pytest.mark.django_db


def test_the_demo_project_has_its_own_checklist_and_a_delivered_sign_off():
    ctx = DemoContext(stdout=io.StringIO())
    for step in (accounts_demo, property_demo, customers_demo, deals_demo, demo):
        step.build(ctx)
    batch = HandoverBatch.objects.get()
    own = ChecklistTemplate.objects.get(project=batch.project)
    rooms = {row["room"]: row["items"] for row in own.rooms}
    assert "入户门" in rooms["客厅"] and rooms["储藏间"] == ["墙面", "地面"]
    assert batch.checklist == own.rooms
    signed = HandoverUnit.objects.get(batch=batch, stage="signed")
    assert Deal.objects.get(unit=signed.unit, status__in=("contracted", "delivered")
                            ).status == "delivered"
    assert HandoverEvent.objects.filter(handover=signed, kind="delivered").exists()
