import itertools
import os

import pytest

from anju.core.system_requirements import missing_requirements

MISSING = missing_requirements()
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_sessionstart(session):
    if MISSING and os.environ.get("CI", "").lower() == "true":
        pytest.exit("CI must run every test, but: " + "; ".join(MISSING.values()), returncode=3)


def _database_vendor() -> str:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    return "postgresql" if "postgresql" in engine else "sqlite"


def pytest_collection_modifyitems(config, items):
    # A test written for one database is deselected (not skipped) on the other, so a skip
    # always means a missing system package.
    other = {"postgresql": "only_sqlite", "sqlite": "only_postgresql"}[_database_vendor()]
    deselected = [item for item in items if item.get_closest_marker(other)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker(other)]
    for item in items:
        for marker, reason in MISSING.items():
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=f"{item.nodeid}: {reason}"))


@pytest.fixture(autouse=True)
def _english_free_of_leaks(settings):
    """Each test starts in the default language with a clean cache."""
    from django.core.cache import cache
    from django.utils import translation

    cache.clear()
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


# Playwright cannot download its own browser here: pytest-playwright's `browser`, `context`
# and `page` fixtures launch Debian's Chromium (tests using them are marked `browser`).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    from anju.core.system_requirements import chromium_path

    return {**browser_type_launch_args, "executable_path": chromium_path(),
            "args": CHROMIUM_ARGS}


def signed_in_session_key(user) -> str:
    """A database session signed in as `user`, for a browser's cookie."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


@pytest.fixture
def open_as(live_server, browser):
    """`open_as(user, path, **context_args)`: a page in a new browser context (its own
    cookies), signed in as `user` (None: anonymous), at `path` of the live server. The page's
    `csp_errors` collects the console's Content-Security-Policy complaints. Every test uses
    the session's one browser (pytest-playwright's `browser`): a second sync Playwright in
    the same run fails inside the first one's event loop."""
    from django.conf import settings

    contexts = []

    def open_page(user, path, **context_args):
        context = browser.new_context(**context_args)
        contexts.append(context)
        if user is not None:
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                                  "value": signed_in_session_key(user),
                                  "url": live_server.url}])
        page = context.new_page()
        page.csp_errors = []
        page.on("console", lambda m: page.csp_errors.append(m.text)
                if "Content Security Policy" in m.text else None)
        page.goto(live_server.url + path)
        return page

    yield open_page
    for context in contexts:
        context.close()


TEST_PASSWORD = "x-secret-pass-2026"  # noqa: S105 (test users only)

_phone_counter = itertools.count(1)


def next_phone() -> str:
    """A fresh valid mainland mobile number (national form), unique in the test run."""
    return f"139{next(_phone_counter):08d}"


@pytest.fixture
def make_customer(org):
    """`make_customer(name=..., phones=[...], owner=..., project=..., **fields)`: a customer
    with its phones (first = primary; none given: a fresh one; [] for none) and search terms,
    written straight to the tables (no service rules, no dedup)."""
    from anju.core.normalise import normalise_id_number, normalise_phone, phone_last4
    from anju.customers.indexing import customer_terms_rebuild
    from anju.customers.models import Customer, CustomerPhone

    def make(name="张三", *, phones=None, owner=None, project=None, company=None,
             id_number="", **fields):
        project = project if project is not None else org["a"]
        company = company or project.company
        phones = [normalise_phone(raw) for raw in (phones if phones is not None
                                                   else [next_phone()])]
        customer = Customer.objects.create(
            company=company, project=project, owner=owner, name=name,
            id_number=normalise_id_number(id_number) if id_number else "",
            primary_phone=phones[0] if phones else "", **fields)
        CustomerPhone.objects.bulk_create([
            CustomerPhone(customer=customer, e164=e164, last4=phone_last4(e164),
                          is_primary=index == 0)
            for index, e164 in enumerate(phones)])
        customer_terms_rebuild(customers=[customer])
        return customer

    return make


@pytest.fixture
def api_for():
    """`api_for(user)`: a DRF APIClient authenticated as the user."""
    from rest_framework.test import APIClient

    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def client_for():
    """`client_for(user)`: a Django test Client logged in as the user."""
    from django.test import Client

    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def org(db):
    """Two companies; the first has projects A and B, the second project C."""
    from anju.accounts.models import Company, Project

    first = Company.objects.create(name="安居置业", code="anju")
    second = Company.objects.create(name="别家地产", code="other")
    return {
        "first": first,
        "second": second,
        "a": Project.objects.create(company=first, name="四季花城", code="a", city="杭州"),
        "b": Project.objects.create(company=first, name="滨江壹号", code="b", city="南京"),
        "c": Project.objects.create(company=second, name="翡翠湾", code="c", city="佛山"),
    }


def ensure_seeded_roles() -> None:
    """Re-seed the roles the migrations seed: a transactional test's flush empties the table,
    and pytest-django runs those tests last, so later ones would find no roles."""
    from importlib import import_module

    from django.apps import apps

    from anju.accounts.models import Role

    if Role.objects.exists():
        return
    for name, function in (("0002_seed_roles", "seed_roles"),
                           ("0005_sales_rights", "grant_sales_rights")):
        module = import_module(f"anju.accounts.migrations.{name}")
        getattr(module, function)(apps, None)


@pytest.fixture
def make_user(db):
    """`make_user(username, role_code, projects=..., companies=..., **fields)`."""
    from anju.accounts.models import Role, User

    ensure_seeded_roles()

    def make(username, role_code, *, projects=(), companies=(), password=TEST_PASSWORD,
             **extra):
        user = User.objects.create_user(username=username, password=password,
                                        role=Role.objects.get(code=role_code), **extra)
        user.projects.set(projects)
        user.companies.set(companies)
        return user

    return make
