"""Tickets in a real browser (Chromium): the reception pickers narrow the library and show the
warranty under the CSP (htmx, no inline script); a worker on a phone accepts and completes a
task with a photo. Marked `browser`."""

import io

import pytest
from PIL import Image

from anju.aftersales.models import Ticket
from anju.aftersales.tickets import services

from .tickets_fixtures import *  # noqa: F403

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}


PICKERS_URL = "/service/tickets/new/pickers/"


def test_reception_pickers_narrow_and_show_the_warranty(svc, lib, place, org, open_as):
    page = open_as(svc["agent"], "/service/tickets/new/")
    unit = place["units"]["301"]

    def redrawn() -> None:
        # the box carries htmx-request while its redraw is on the way (swap included)
        page.wait_for_function(
            "() => !document.querySelector('#pickers').classList.contains('htmx-request')")

    def choose(select: str, value) -> None:
        """One choice, once: it asks for a redraw, and the redraw keeps it."""
        with page.expect_response(lambda r: PICKERS_URL in r.url) as answer:
            page.select_option(select, str(value))
        assert answer.value.ok
        redrawn()
        assert page.input_value(select) == str(value)

    choose("#id_project", org["a"].pk)
    assert page.locator(f"#id_unit option[value='{unit.pk}']").count() == 1
    choose("#id_unit", unit.pk)
    assert page.input_value("#id_customer") == str(place["owner"].pk)  # the unit's owner
    choose("#id_location", lib["卫生间"].pk)
    # 入户门 is bound to 玄关: it left the list once the bathroom was chosen
    assert page.locator(f"#id_component option[value='{lib['入户门'].pk}']").count() == 0
    choose("#id_component", lib["卫生间防水"].pk)
    assert page.locator("#warranty .in-warranty").count() == 1
    assert "2030-06-30" in page.inner_text("#warranty")
    choose("#id_category", lib["渗漏"].pk)
    assert page.locator("#id_description_ref option", has_text="下水管周围渗漏").count() == 1
    # every choice made so far is still there after all those redraws
    assert [page.input_value(f"#id_{name}") for name in (
        "project", "unit", "customer", "location", "component", "category")] == [
        str(org["a"].pk), str(unit.pk), str(place["owner"].pk), str(lib["卫生间"].pk),
        str(lib["卫生间防水"].pk), str(lib["渗漏"].pk)]
    page.fill("#id_description", "地漏周围渗水，楼下天花有水印")
    page.click("#reception-form button[type=submit]")
    page.wait_for_selector("#ticket-timeline")
    ticket = Ticket.objects.get()
    assert ticket.title.startswith("四季花城 米兰苑 301 – 卫生间 – 卫生间防水 – 渗漏")
    assert page.csp_errors == []


def test_quick_choices_all_stick(svc, lib, place, org, open_as):
    """Choices made faster than the redraws come back: the last redraw carries them all, and
    the suggestions follow the category without touching the pickers."""
    page = open_as(svc["agent"], "/service/tickets/new/")
    unit = place["units"]["301"]
    page.locator("#kb-suggest .kb-suggest").wait_for()  # the suggestions' first load
    page.select_option("#id_project", str(org["a"].pk))
    page.locator(f"#id_unit option[value='{unit.pk}']").wait_for(state="attached")
    # no wait between these: each starts a redraw while the one before is on the way
    page.select_option("#id_unit", str(unit.pk))
    page.select_option("#id_location", str(lib["卫生间"].pk))
    page.select_option("#id_component", str(lib["卫生间防水"].pk))
    page.locator(f"#id_category option[value='{lib['渗漏'].pk}']").wait_for(state="attached")
    page.select_option("#id_category", str(lib["渗漏"].pk))
    page.locator("#id_description_ref option", has_text="下水管周围渗漏").wait_for(
        state="attached")
    page.wait_for_function(
        "() => !document.querySelector('#pickers').classList.contains('htmx-request')"
        " && !document.querySelector('#kb-suggest').classList.contains('htmx-request')")
    assert [page.input_value(f"#id_{name}") for name in (
        "project", "unit", "customer", "location", "component", "category")] == [
        str(org["a"].pk), str(unit.pk), str(place["owner"].pk), str(lib["卫生间"].pk),
        str(lib["卫生间防水"].pk), str(lib["渗漏"].pk)]
    assert "2030-06-30" in page.inner_text("#warranty")
    assert page.locator("#kb-suggest .kb-suggest").count() == 1
    assert page.csp_errors == []


def test_a_worker_completes_a_task_on_a_phone(svc, new_ticket, open_as, tmp_path):
    ticket = new_ticket()
    services.ticket_dispatch(actor=svc["agent"], ticket_id=ticket.pk, user_id=svc["worker"].pk)
    page = open_as(svc["worker"], "/service/my-tasks/", **PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    button = page.locator(f"[data-ticket='{ticket.pk}'] form[action$='/accept/'] button")
    box = button.bounding_box()
    assert box["height"] >= 44
    button.tap()
    page.wait_for_selector(f"[data-ticket='{ticket.pk}'] .complete-form")
    photo = tmp_path / "done.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (20, 160, 60)).save(buffer, "JPEG")
    photo.write_bytes(buffer.getvalue())
    page.set_input_files(f"[data-ticket='{ticket.pk}'] input[type=file]", str(photo))
    page.fill(f"[data-ticket='{ticket.pk}'] input[name=note]", "已更换管件")
    page.locator(f"[data-ticket='{ticket.pk}'] .complete-form button").tap()
    page.wait_for_selector("#my-tasks .empty")
    ticket.refresh_from_db()
    assert ticket.status == "completed" and ticket.photos.filter(stage="completion").count() == 1
    assert page.csp_errors == []
