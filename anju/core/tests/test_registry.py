from types import SimpleNamespace

import pytest

from anju.core.registry import (
    DuplicateKeyError,
    MenuEntry,
    Registry,
    Section,
    Tile,
    customer_sections,
    dashboard,
    menu,
    with_right,
)


def user(*rights, authenticated=True):
    return SimpleNamespace(is_authenticated=authenticated, may=lambda right: right in rights)


def test_entries_are_ordered_by_order_then_key_whatever_the_registration_order():
    registry = Registry("test")
    registry.register(MenuEntry(key="b", label="B", url_name="x", order=20))
    registry.register(MenuEntry(key="z", label="Z", url_name="x", order=10))
    registry.register(MenuEntry(key="a", label="A", url_name="x", order=20))
    assert [e.key for e in registry.all()] == ["z", "a", "b"]


def test_duplicate_key_is_rejected():
    registry = Registry("test")
    registry.register(Tile(key="t", title="T"))
    with pytest.raises(DuplicateKeyError):
        registry.register(Tile(key="t", title="other"))
    assert len(registry) == 1


def test_for_user_filters_by_visible():
    registry = Registry("test")
    registry.register(MenuEntry(key="all", label="All", url_name="x"))
    registry.register(MenuEntry(key="audit", label="Audit", url_name="x",
                                visible=with_right("read_audit")))
    assert [e.key for e in registry.for_user(user())] == ["all"]
    assert [e.key for e in registry.for_user(user("read_audit"))] == ["all", "audit"]
    assert registry.for_user(user(authenticated=False)) == []


def test_menu_entry_with_unknown_url_name_has_no_url():
    assert MenuEntry(key="k", label="K", url_name="nope:nothing").url == ""
    assert MenuEntry(key="k", label="K", url_name="core:inbox").url == "/core/inbox/"


def test_section_context_receives_customer_and_viewer():
    section = Section(key="s", title="S", template_name="x.html",
                      context=lambda customer, viewer: {"c": customer, "v": viewer})
    assert section.get_context("customer", "viewer") == {"c": "customer", "v": "viewer"}
    assert Section(key="e", title="E").get_context(1, 2) == {}


def test_core_contributions_are_discovered_at_start_up():
    assert "core.inbox" in menu
    assert "core.unread_notifications" in dashboard
    assert dashboard.get("core.notifications_per_day").chart_url == "/core/inbox/chart.json"
    assert isinstance(customer_sections, Registry)
