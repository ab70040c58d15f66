import logging

import pytest
from django.contrib.auth import get_user_model
from django.template import Context, Template
from django.test import RequestFactory
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from anju.core import masking
from anju.core.masking import (
    MaskingLogFilter,
    mask_id_number,
    mask_phone,
    mask_text,
    register_sensitive_field,
)

PHONE = "+8613800138000"
ID = "11010519491231002X"


# --- masking values -------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "masked"), [
    ("+8613800138000", "138****8000"),
    ("13800138000", "138****8000"),
    ("+861088886666", "010****6666"),
    ("+861088886666;ext=123", "010****6666"),
    ("+8675512345678", "0755****5678"),
    ("+16502530000", "+1 ******0000"),
    ("12345678", "****5678"),
    ("123", "***"),
    ("", ""),
    (None, ""),
])
def test_mask_phone(value, masked):
    assert mask_phone(value) == masked


def test_mask_id_number_keeps_first_and_last_and_length():
    assert mask_id_number(ID) == "1" + "*" * 16 + "X"
    assert len(mask_id_number(ID)) == 18
    assert mask_id_number("ab") == "**"
    assert mask_id_number("") == ""


def test_mask_text_finds_numbers_in_free_text():
    text = ("call 13800138000 or +86 138-0013-8000, id 11010519491231002x; "
            "order 123456789012345678901")
    assert mask_text(text) == ("call 138****8000 or +86 138****8000, id 1****************x; "
                               "order 123456789012345678901")


def test_log_filter_masks_message_and_arguments():
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    logger = logging.getLogger("anju.tests.masking")
    handler = Keep()
    handler.addFilter(MaskingLogFilter())
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("customer %s with id %s called", "13800138000", ID)
        logger.warning("sms to +8613800138000 failed")
        logger.warning("no numbers %d", 42)
        try:
            raise ValueError("bad phone 13900139000")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert records[0] == "customer 138****8000 with id 1****************X called"
    assert records[1] == "sms to +86138****8000 failed"
    assert records[2] == "no numbers 42"
    assert "13900139000" not in records[3]
    assert "139****9000" in records[3]


def test_log_filter_is_in_the_logging_configuration(settings):
    assert settings.LOGGING["filters"]["mask_pii"]["()"] == "anju.core.masking.MaskingLogFilter"
    assert "mask_pii" in settings.LOGGING["handlers"]["console"]["filters"]


# --- people and the registry ----------------------------------------------------------------

def make_user(username, role_code=None, *, team=None, phone=PHONE):
    from anju.accounts.models import Role

    User = get_user_model()
    role = Role.objects.get(code=role_code) if role_code else None
    return User.objects.create_user(username=username, password="pw-" + "x" * 12, role=role,
                                    team=team, phone=phone)


@pytest.fixture
def team():
    from anju.accounts.models import Team

    return Team.objects.create(name="一组")


@pytest.fixture
def phone_registered():
    """User.phone revealable; the test scope is "people of my team" (accounts owns the real one)."""
    User = get_user_model()
    previous = masking.get_sensitive_field("accounts.user", "phone")
    spec = register_sensitive_field(
        User, "phone", "phone",
        queryset=lambda viewer: User.objects.filter(team_id=viewer.team_id)
        if viewer.team_id else User.objects.filter(pk=viewer.pk),
    )
    yield spec
    masking.unregister_sensitive_field(User, "phone")
    if previous:
        masking._registry[("accounts.user", "phone")] = previous


def test_registry_checks_kind_field_and_scope():
    from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured

    from anju.accounts.models import Project
    from anju.core.models import SensitiveAccess

    with pytest.raises(ImproperlyConfigured):
        register_sensitive_field(Project, "name", "email")
    with pytest.raises(FieldDoesNotExist):
        register_sensitive_field(Project, "telephone", "phone")
    with pytest.raises(ImproperlyConfigured):  # no visible_to, and no queryset given
        register_sensitive_field(SensitiveAccess, "field", "phone")
    spec = register_sensitive_field(Project, "address", "phone")  # default: visible_to
    try:
        assert masking.get_sensitive_field("ACCOUNTS.project", "address") is spec
    finally:
        masking.unregister_sensitive_field(Project, "address")


@pytest.mark.django_db
def test_default_registry_scope_is_visible_to():
    from anju.accounts.models import Company, Project

    company = Company.objects.create(name="某某置业", code="mm")
    mine = Project.objects.create(company=company, name="四季花城", code="sj")
    Project.objects.create(company=company, name="滨江壹号", code="bj")
    manager = make_user("manager", "sales_manager")
    manager.projects.add(mine)
    spec = register_sensitive_field(Project, "address", "phone")
    try:
        assert list(spec.queryset(manager)) == list(Project.objects.visible_to(manager))
        assert list(spec.queryset(manager)) == [mine]
    finally:
        masking.unregister_sensitive_field(Project, "address")


# --- template filters and tag ---------------------------------------------------------------

@pytest.mark.django_db
def test_template_filters_mask_for_everyone():
    admin = make_user("admin1", "admin")
    html = Template("{% load anju_mask %}{{ p|mask_phone:user }} {{ i|mask_id_number }} "
                    "{{ p|phone_display }}").render(Context({"p": PHONE, "i": ID, "user": admin}))
    assert html == "138****8000 1****************X 138 0013 8000"


@pytest.mark.django_db
def test_sensitive_tag_offers_reveal_only_to_those_who_may_unmask(phone_registered, team):
    holder = make_user("holder", team=team)
    consultant = make_user("consultant", "sales_consultant", team=team)
    agent = make_user("agent", "channel_agent", team=team)
    template = Template('{% load anju_mask %}{% sensitive person "phone" %}')
    for viewer, can in ((consultant, True), (agent, False)):
        request = RequestFactory().get("/")
        request.user = viewer
        html = template.render(Context({"person": holder, "request": request}))
        assert "138****8000" in html
        assert "13800138000" not in html and "0013" not in html
        assert (f'hx-post="/core/sensitive/accounts.user/{holder.pk}/phone/"' in html) is can


# --- the reveal endpoint (pages) ------------------------------------------------------------

def reveal_url(user, field="phone"):
    return f"/core/sensitive/accounts.user/{user.pk}/{field}/"


@pytest.mark.django_db
def test_reveal_without_the_right_is_forbidden_and_not_logged(client, phone_registered, team):
    from anju.core.models import SensitiveAccess

    holder = make_user("holder", team=team)
    agent = make_user("agent", "channel_agent", team=team)
    client.force_login(agent)
    response = client.post(reveal_url(holder))
    assert response.status_code == 403
    assert "13800138000" not in response.content.decode()
    assert not SensitiveAccess.objects.exists()


@pytest.mark.django_db
def test_reveal_outside_scope_is_not_found(client, phone_registered, team):
    from anju.core.models import SensitiveAccess

    stranger = make_user("stranger")                       # no team: outside the scope
    consultant = make_user("consultant", "sales_consultant", team=team)
    client.force_login(consultant)
    assert client.post(reveal_url(stranger)).status_code == 404
    assert client.post("/core/sensitive/accounts.user/999999/phone/").status_code == 404
    assert client.post("/core/sensitive/accounts.user/abc/phone/").status_code == 404
    holder = make_user("holder", team=team)
    assert client.post(reveal_url(holder, "password")).status_code == 404  # not registered
    assert client.post("/core/sensitive/nope.model/1/phone/").status_code == 404
    assert not SensitiveAccess.objects.exists()


@pytest.mark.django_db
def test_reveal_needs_login_and_post(client, phone_registered, team):
    holder = make_user("holder", team=team)
    response = client.post(reveal_url(holder))
    assert response.status_code == 302 and "/accounts/" in response["Location"]
    client.force_login(make_user("consultant", "sales_consultant", team=team))
    assert client.get(reveal_url(holder)).status_code == 405


@pytest.mark.django_db
def test_reveal_returns_the_value_and_logs_it(client, phone_registered, team,
                                              django_assert_max_num_queries):
    from anju.core.models import SensitiveAccess

    holder = make_user("holder", team=team)
    consultant = make_user("consultant", "sales_consultant", team=team)
    client.force_login(consultant)
    with django_assert_max_num_queries(8):
        response = client.post(reveal_url(holder), HTTP_HX_REQUEST="true",
                               REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert response.content.decode() == (
        '<span class="sensitive is-revealed" data-kind="phone">138 0013 8000</span>')
    access = SensitiveAccess.objects.get()
    assert (access.user, access.action, access.target, access.object_id, access.field,
            access.remote_addr) == (consultant, "unmask", "accounts.user", str(holder.pk),
                                    "phone", "10.1.2.3")


# --- the API -------------------------------------------------------------------------------

class PersonSerializer(serializers.Serializer):
    username = serializers.CharField()
    phone = masking.MaskedPhoneField(required=False, allow_blank=True)
    id_number = masking.MaskedIdNumberField(source="last_name", required=False, allow_blank=True)


def api_request(user, query=""):
    request = Request(APIRequestFactory().get("/x/" + query, REMOTE_ADDR="10.0.0.9"))
    request.user = user
    return request


@pytest.mark.django_db
def test_api_fields_mask_by_default_even_for_those_who_may_unmask():
    holder = make_user("holder")
    holder.last_name = ID
    admin = make_user("admin1", "admin")
    data = PersonSerializer(holder, context={"request": api_request(admin)}).data
    assert data["phone"] == "138****8000"
    assert data["id_number"] == "1****************X"


@pytest.mark.django_db
def test_api_fields_reveal_only_what_was_asked_and_log_it():
    from anju.core.models import SensitiveAccess

    holder = make_user("holder")
    holder.last_name = ID
    admin = make_user("admin1", "admin")
    data = PersonSerializer(holder, context={"request": api_request(admin, "?unmask=phone")}).data
    assert data["phone"] == PHONE
    assert data["id_number"] == "1****************X"
    access = SensitiveAccess.objects.get()
    assert (access.action, access.target, access.object_id, access.field, access.remote_addr) == (
        "unmask", "accounts.user", str(holder.pk), "phone", "10.0.0.9")

    both = api_request(admin, "?unmask=phone,id_number")
    data = PersonSerializer(holder, context={"request": both}).data
    assert (data["phone"], data["id_number"]) == (PHONE, ID)
    assert SensitiveAccess.objects.count() == 3


@pytest.mark.django_db
def test_api_fields_ignore_unmask_without_the_right():
    from anju.core.models import SensitiveAccess

    holder = make_user("holder")
    agent = make_user("agent", "channel_agent")
    data = PersonSerializer(holder, context={"request": api_request(agent, "?unmask=phone")}).data
    assert data["phone"] == "138****8000"
    assert not SensitiveAccess.objects.exists()


def test_api_fields_normalise_input_and_report_field_errors():
    serializer = PersonSerializer(data={"username": "a", "phone": "138-0013-8000",
                                        "id_number": "11010519491231002x"})
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == {"username": "a", "phone": PHONE, "last_name": ID}
    bad = PersonSerializer(data={"username": "a", "phone": "12345", "id_number": "123"})
    assert not bad.is_valid()
    assert set(bad.errors) == {"phone", "id_number"}
    assert bad.errors["phone"] == ["电话号码太短。"]


@pytest.mark.django_db
def test_reveal_api(phone_registered, team, django_assert_max_num_queries):
    from anju.core.models import SensitiveAccess

    holder = make_user("holder", team=team)
    stranger = make_user("stranger")
    consultant = make_user("consultant", "sales_consultant", team=team)
    agent = make_user("agent", "channel_agent", team=team)
    client = APIClient()
    url = f"/api/v1/sensitive/accounts.user/{holder.pk}/phone/"

    assert client.post(url).status_code in (401, 403)
    client.force_authenticate(agent)
    assert client.post(url).status_code == 403
    client.force_authenticate(consultant)
    assert client.get(url).status_code == 405
    assert client.post(f"/api/v1/sensitive/accounts.user/{stranger.pk}/phone/").status_code == 404
    assert not SensitiveAccess.objects.exists()
    with django_assert_max_num_queries(5):
        response = client.post(url)
    assert response.status_code == 200
    assert response.json() == {"target": "accounts.user", "id": str(holder.pk),
                               "field": "phone", "value": PHONE}
    assert SensitiveAccess.objects.get().user == consultant
