"""Who sees which customers, per role, through the selectors and the pages."""

import pytest
from django.urls import reverse

from anju.customers import selectors


@pytest.fixture
def ledger(people, make_customer, org):
    return {
        "mine": make_customer("张三", owner=people["consultant"]),
        "peer": make_customer("李四", owner=people["peer"]),
        "b": make_customer("王五", owner=people["consultant_b"], project=org["b"]),
        "c": make_customer("赵六", owner=people["outsider"], project=org["c"]),
    }


EXPECTED = {
    "consultant": {"mine"},
    "peer": {"peer"},
    "consultant_b": {"b"},
    "manager": {"mine", "peer", "b"},
    "marketing": {"mine", "peer"},
    "executive": {"mine", "peer", "b"},
    "admin": {"mine", "peer", "b", "c"},
    "outsider": {"c"},
}


@pytest.mark.parametrize(("role", "expected"), list(EXPECTED.items()))
def test_list_selector_scope(people, ledger, role, expected):
    page = selectors.customer_list(viewer=people[role])
    assert {row.pk for row in page.rows} == {ledger[key].pk for key in expected}


@pytest.mark.parametrize(("role", "expected"), list(EXPECTED.items()))
def test_detail_page_scope(people, ledger, client_for, role, expected):
    client = client_for(people[role])
    for key, customer in ledger.items():
        status = client.get(reverse("customers:detail", args=[customer.pk])).status_code
        assert status == (200 if key in expected else 404), key


def test_merged_away_records_leave_the_list(people, ledger):
    from anju.customers.models import Customer

    Customer.objects.filter(pk=ledger["peer"].pk).update(merged_into=ledger["mine"])
    page = selectors.customer_list(viewer=people["manager"])
    assert ledger["peer"].pk not in {row.pk for row in page.rows}


def test_list_count_is_capped(people, ledger, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    page = selectors.customer_list(viewer=people["admin"], with_count=True)
    assert page.count_capped and page.count_label == "2+"


def test_list_filters(people, ledger):
    from django.utils import timezone

    from anju.customers import services
    from anju.customers.models import Tag

    services.customer_consent_grant(actor=people["consultant"], customer=ledger["mine"])
    services.interaction_log(actor=people["consultant"], customer=ledger["mine"], kind="call")
    tag = Tag.objects.first()
    services.customer_tags_set(actor=people["peer"], customer=ledger["peer"], tags=[tag])
    manager = people["manager"]

    def names(**filters):
        return {row.name for row in selectors.customer_list(viewer=manager,
                                                             filters=filters).rows}

    assert names(consent="1") == {"张三"}
    assert names(consent="0") == {"李四", "王五"}
    assert names(tag=str(tag.pk)) == {"李四"}
    assert names(owner=str(people["peer"].pk)) == {"李四"}
    assert names(project=str(ledger["b"].project_id)) == {"王五"}
    today = timezone.localdate().isoformat()
    assert names(contact_after=today) == {"张三"}
    assert names(contact_before=today) == set()
    assert names(tier="potential") >= {"李四", "王五"}
    assert names(stage="bogus", tag="x") == {"张三", "李四", "王五"}
