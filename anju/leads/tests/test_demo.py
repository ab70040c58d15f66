import io

import pytest

from anju.accounts import demo as accounts_demo
from anju.core.demo import DemoContext
from anju.customers import demo as customers_demo
from anju.leads import demo
from anju.leads.models import (
    AgencyAgent,
    AgencyCommission,
    ChannelCost,
    DutyRoster,
    Lead,
    Registration,
)

pytestmark = pytest.mark.django_db


def test_demo_has_every_status_and_agents_with_agencies():
    ctx = DemoContext(stdout=io.StringIO())
    accounts_demo.build(ctx)
    customers_demo.build(ctx)
    demo.build(ctx)
    assert set(Lead.objects.values_list("status", flat=True)) == set(Lead.Status.values)
    assert set(Registration.objects.values_list("status", flat=True)) == set(
        Registration.Status.values)
    assert AgencyAgent.objects.count() >= 2 and AgencyCommission.objects.count() == 1
    assert ChannelCost.objects.exists() and DutyRoster.objects.exists()
    assert Lead.objects.filter(referrer_customer__isnull=False).exists()
    demo.build(ctx)  # a second run changes nothing
    assert Registration.objects.filter(status="converted").count() == 1
