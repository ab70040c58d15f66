"""In Chromium: a service manager edits a project's inspection checklist in place (htmx swaps
the list, under the site's CSP): adds an item to a room and moves it up."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from anju.aftersales.care.testing import *  # noqa: F403
from anju.aftersales.models import ChecklistTemplate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_adds_and_moves_an_item_without_leaving_the_page(open_as, org, care_staff):
    path = reverse("aftersales:checklist_project", args=[org["a"].pk])
    page = open_as(care_staff["manager"], path)
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    living = page.locator('section[data-room="客厅"]')
    add = living.locator(":scope > form").last
    add.locator('input[name="name"]').fill("入户门")
    add.locator('button[type="submit"]').click()
    expect(page.locator('li[data-item="入户门"]')).to_be_visible()
    expect(page.locator('p[data-source="project"]')).to_be_visible()
    page.locator('li[data-item="入户门"] button[value="item_up"]').click()
    expect(page.locator('section[data-room="客厅"] li').nth(4)).to_have_attribute(
        "data-item", "入户门")
    assert navigations == []  # swapped in place, the page never reloaded
    assert ChecklistTemplate.objects.get(project=org["a"]).rooms[0]["items"][-2:] == [
        "入户门", "水电"]
    assert page.csp_errors == []
