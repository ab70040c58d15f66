import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_consultant_menu_leads_to_the_ledger_today_and_imports(people, client_for):
    page = client_for(people["consultant"]).get(reverse("web:home")).content.decode()
    for name in ("customers:list", "customers:today", "customers:import_list"):
        assert f'href="{reverse(name)}"' in page
    assert reverse("customers:duplicates") not in page


def test_managers_also_see_the_duplicate_candidates(people, client_for):
    page = client_for(people["manager"]).get(reverse("web:home")).content.decode()
    assert f'href="{reverse("customers:duplicates")}"' in page
    assert "疑似重复客户" in page
