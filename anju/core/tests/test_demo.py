"""The demo framework: steps from every app run in order, share data, and leave logins."""

import stat

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from anju.core import demo
from anju.core.demo import DemoContext, demo_step


@pytest.fixture
def steps(monkeypatch, settings, tmp_path):
    """A registry holding only the steps a test declares; DATA_DIR in a temp folder."""
    demo.autodiscover_modules("demo")  # the apps' real steps register before the swap
    monkeypatch.setattr(demo, "_registry", {})
    settings.DATA_DIR = tmp_path
    return tmp_path


def run_demo(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_steps_run_in_order_and_share_data(steps):
    calls = []

    @demo_step(order=20, name="second")
    def second(ctx: DemoContext) -> None:
        calls.append(("second", ctx.data["made_by_first"], ctx.size))

    @demo_step(order=10, name="first")
    def first(ctx: DemoContext) -> None:
        calls.append(("first", None, ctx.size))
        ctx.data["made_by_first"] = "hello"

    output = run_demo("--size", "3")

    assert calls == [("first", None, 3), ("second", "hello", 3)]
    assert output.index("first") < output.index("second")


@pytest.mark.django_db
def test_logins_are_printed_and_saved_for_the_owner_only(steps):
    @demo_step(order=10, name="users")
    def users(ctx: DemoContext) -> None:
        get_user_model().objects.create_user(username="manager", password="Demo-pass-2026")
        ctx.add_credential("销售经理", "manager", "Demo-pass-2026")

    output = run_demo()

    assert "manager" in output and "Demo-pass-2026" in output and "销售经理" in output
    saved = steps / demo.CREDENTIALS_FILE_NAME
    assert "manager" in saved.read_text(encoding="utf-8")
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert get_user_model().objects.filter(username="manager").exists()


@pytest.mark.django_db
def test_if_empty_keeps_existing_data(steps):
    calls = []

    @demo_step(order=10, name="users")
    def users(ctx: DemoContext) -> None:
        calls.append(ctx.size)

    get_user_model().objects.create_user(username="someone", password="x-123456789")
    run_demo("--if-empty")
    assert calls == []
    run_demo()
    assert calls == [1]


@pytest.mark.django_db
def test_a_failing_step_rolls_back_its_own_writes_and_reports(steps):
    @demo_step(order=10, name="good")
    def good(ctx: DemoContext) -> None:
        get_user_model().objects.create_user(username="kept", password="x-123456789")

    @demo_step(order=20, name="bad")
    def bad(ctx: DemoContext) -> None:
        get_user_model().objects.create_user(username="rolled-back", password="x-123456789")
        raise RuntimeError("boom")

    with pytest.raises(CommandError, match="boom"):
        run_demo()
    usernames = set(get_user_model().objects.values_list("username", flat=True))
    assert "kept" in usernames and "rolled-back" not in usernames


def test_the_seed_makes_the_fake_data_reproducible():
    names = [DemoContext(seed=7).faker.name() for _ in range(2)]
    assert names[0] == names[1]
    phone = DemoContext(seed=7).faker.phone_number()
    assert phone.startswith("1") and len(phone) == 11  # zh_CN mobile numbers


def test_size_must_be_positive(steps):
    with pytest.raises(CommandError):
        run_demo("--size", "0")


def test_apps_plug_in_through_their_demo_module():
    """autodiscovery imports anju/<app>/demo.py; steps come back sorted by order."""
    from importlib.util import find_spec

    steps = demo.discover_steps()
    orders = [step.order for step in steps]
    assert orders == sorted(orders)
    if find_spec("anju.accounts.demo"):
        assert any("organisation and users" in step.name for step in steps)
