"""The audit trail: every change of a registered record keeps who, when, before and after;
auditors search it, everyone else is turned away."""

from datetime import timedelta

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from anju.core.audit import audit_for_record, audit_register, audit_search, record_creates
from anju.core.locking import update_versioned
from anju.core.models import SensitiveAccess
from anju.core.tests.platform_helpers import make_company, make_project, make_user, model

pytestmark = pytest.mark.django_db


@pytest.fixture
def audited():
    """accounts.Project registered as the accounts app would, restored afterwards."""
    Project = model("accounts.Project")
    previous = auditlog._registry.get(Project)
    audit_register(Project, include_fields=["name", "city", "district", "company", "address"],
                   mask_fields=["address"])
    yield Project
    auditlog.unregister(Project)
    if previous is not None:
        auditlog.register(Project, **previous)


@pytest.fixture
def people():
    company = make_company()
    mine = make_project(company, "滨江一号", "bj1")
    return {
        "company": company,
        "auditor": make_user("shen", role="auditor", scope_level="all", read_audit=True),
        "consultant": make_user("li", projects=[mine], read_audit=False),
        "stranger": make_user("zhou", projects=[], read_audit=False),
    }


def _updates(project):
    return LogEntry.objects.get_for_object(project).filter(action=LogEntry.Action.UPDATE)


def _edit(project, user, **changes):
    with set_actor(user):
        return update_versioned(project, expected_version=project.version, changes=changes)


def test_update_records_who_when_before_after(audited, people):
    project = audited.objects.create(company=people["company"], name="西湖壹号", code="xh1")
    before = timezone.now()
    _edit(project, people["consultant"], city="杭州", district="西湖")
    entry = _updates(project).get()
    assert entry.actor == people["consultant"]
    assert entry.timestamp >= before
    assert entry.changes_dict["city"] == ["", "杭州"]
    assert entry.changes_dict["district"] == ["", "西湖"]
    assert "version" not in entry.changes_dict and "updated_at" not in entry.changes_dict


def test_save_through_the_orm_is_logged_too(audited, people):
    project = audited.objects.create(company=people["company"], name="西湖壹号", code="xh1")
    with set_actor(people["auditor"]):
        project.name = "西湖贰号"
        project.save()
    entry = _updates(project).get()
    assert entry.changes_dict == {"name": ["西湖壹号", "西湖贰号"]}


def test_rows_written_in_bulk_get_the_entries_one_save_would_get(audited, people):
    """`record_creates`: the same "created" entries as a save's, the actor only inside the
    request's context (a stale context of an earlier request names nobody)."""
    with set_actor(people["consultant"]):
        saved = audited.objects.create(company=people["company"], name="甲", code="a",
                                       address="滨江路1号")
        bulk = audited.objects.bulk_create([
            audited(company=people["company"], name="乙", code="b", address="滨江路2号")])
        assert record_creates(bulk) == 1
    later = audited.objects.bulk_create([audited(company=people["company"], name="丙",
                                                 code="c")])
    record_creates(later)

    def created(project):
        return LogEntry.objects.get_for_object(project).get(action=LogEntry.Action.CREATE)

    one, other = created(saved), created(bulk[0])
    assert other.actor == one.actor == people["consultant"]
    assert other.changes_dict.keys() == one.changes_dict.keys()
    assert other.changes_dict["name"] == ["None", "乙"] and other.object_repr == "乙"
    assert "滨江路2号" not in str(other.changes_dict)  # masked, as in a save's entry
    assert created(later[0]).actor is None


def test_masked_fields_never_reach_the_log_in_clear(audited, people):
    project = audited.objects.create(company=people["company"], name="甲", code="a")
    _edit(project, people["auditor"], address="文三路 138 号 1201 室")
    entry = _updates(project).get()
    stored = str(entry.changes)
    assert "文三路 138 号" not in stored
    assert "*" in entry.changes_dict["address"][1]


def test_api_write_names_the_token_user_as_actor(audited, people, settings):
    settings.ROOT_URLCONF = "anju.core.tests.platform_helpers"
    project = audited.objects.create(company=people["company"], name="甲", code="a")
    token = model("authtoken.Token").objects.create(user=people["auditor"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.patch(f"/api/v1/projects/{project.pk}/", {"city": "宁波", "version": 1},
                            format="json")
    assert response.status_code == 200, response.content
    entry = _updates(project).get()
    assert entry.actor == people["auditor"]
    assert entry.remote_addr == "127.0.0.1"


def test_record_timeline_for_auditor_and_for_whoever_sees_the_record(audited, people):
    project = audited.objects.get(code="bj1")
    _edit(project, people["auditor"], city="杭州")
    project.refresh_from_db()
    _edit(project, people["consultant"], city="宁波", company=people["company"])
    timeline = audit_for_record(viewer=people["consultant"], obj=project)
    assert [entry.actor_name for entry in timeline][:2] == ["li", "shen"]  # newest first
    assert timeline[-1].action == "created"
    assert timeline[0].changes[0].label in {"city", "城市"}
    assert (timeline[0].changes[0].before, timeline[0].changes[0].after) == ("杭州", "宁波")
    assert len(audit_for_record(viewer=people["auditor"], obj=project)) == len(timeline)
    with pytest.raises(PermissionDenied):
        audit_for_record(viewer=people["stranger"], obj=project)


def test_record_timeline_page_and_htmx_partial(audited, people, client,
                                               django_assert_max_num_queries):
    project = audited.objects.get(code="bj1")
    for city in ("杭州", "宁波", "温州"):
        project = _edit(project, people["auditor"], city=city)
    client.force_login(people["consultant"])
    url = f"/core/audit/accounts.project/{project.pk}/"
    with django_assert_max_num_queries(12):
        page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<html" in html and "温州" in html
    assert html.count('class="audit-entry audit-changed') == 3
    partial = client.get(url, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode()
    assert "温州" in partial.content.decode()
    client.force_login(people["stranger"])
    assert client.get(url).status_code == 403
    assert client.get("/core/audit/nope.nothing/1/").status_code == 404


@pytest.fixture
def history(audited, people):
    hz = audited.objects.create(company=people["company"], name="杭州项目", code="hz")
    nb = audited.objects.create(company=people["company"], name="宁波项目", code="nb")
    _edit(hz, people["consultant"], city="杭州")
    _edit(nb, people["auditor"], city="宁波")
    return {"hz": hz, "nb": nb}


def test_auditor_search_filters(people, history):
    auditor = people["auditor"]
    by_actor = audit_search(viewer=auditor, actor="li", model="accounts.project")
    assert {e.object_repr for e in by_actor.entries} == {"杭州项目"}
    assert {e.object_repr for e in audit_search(viewer=auditor, actor=auditor.pk,
                                                model="accounts.project").entries} == {"宁波项目"}
    by_record = audit_search(viewer=auditor, model="accounts.project",
                             object_id=str(history["nb"].pk))
    assert {e.object_repr for e in by_record.entries} == {"宁波项目"}
    assert audit_search(viewer=auditor, model="accounts.company", actor="li").entries == []
    by_text = audit_search(viewer=auditor, text="宁波", actor="shen")
    assert by_text.entries and all(e.object_pk == str(history["nb"].pk) for e in by_text.entries)
    today = timezone.localdate()
    everything = audit_search(viewer=auditor).entries
    assert len(audit_search(viewer=auditor, date_from=today, date_to=today).entries) \
        == len(everything) >= 4
    assert audit_search(viewer=auditor, date_to=today - timedelta(days=1)).entries == []


def test_search_pages_by_keyset(people, history):
    auditor = people["auditor"]
    total = len(audit_search(viewer=auditor, model="accounts.project").entries)
    assert total == 5  # the fixtures' three creations, two changes
    first = audit_search(viewer=auditor, model="accounts.project", limit=3)
    assert len(first.entries) == 3 and first.next_cursor is not None
    second = audit_search(viewer=auditor, model="accounts.project", limit=3,
                          cursor=first.next_cursor)
    assert len(second.entries) == 2 and second.next_cursor is None
    ids = [e.id for e in first.entries + second.entries]
    assert ids == sorted(ids, reverse=True)


def test_only_auditors_may_search(people, history):
    with pytest.raises(PermissionDenied):
        audit_search(viewer=people["consultant"])


def test_auditor_search_page(people, history, client, django_assert_max_num_queries):
    client.force_login(people["auditor"])
    with django_assert_max_num_queries(12):
        response = client.get("/core/audit/", {"actor": "li"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "杭州项目" in html and "宁波项目" not in html
    bad = client.get("/core/audit/", {"date_from": "not a date"})
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()
    client.force_login(people["consultant"])
    assert client.get("/core/audit/").status_code == 403


def test_search_page_query_count_does_not_grow(people, audited, client, django_assert_num_queries):
    client.force_login(people["auditor"])
    project = audited.objects.get(code="bj1")
    project = _edit(project, people["consultant"], city="杭州", company=people["company"])
    client.get("/core/audit/")
    with CaptureQueriesContext(connection) as small:
        client.get("/core/audit/")
    for n in range(8):
        project = _edit(project, people["consultant"], city=f"城市{n}")
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get("/core/audit/")
    assert response.content.decode().count('class="audit-entry') >= 9


def test_sensitive_access_tab_newest_first(people, client):
    for n in range(3):
        SensitiveAccess.objects.create(user=people["consultant"], action="unmask",
                                       target="customers.customer", object_id=str(n),
                                       field="phone")
    client.force_login(people["auditor"])
    response = client.get("/core/audit/", {"tab": "sensitive"})
    assert response.status_code == 200
    html = response.content.decode()
    rows = [html.index(f"<td>{n}</td>") for n in range(3)]
    assert rows == sorted(rows, reverse=True)


def test_audit_api_for_auditors_only(people, history, settings, django_assert_max_num_queries):
    client = APIClient()
    client.force_authenticate(people["auditor"])
    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/audit/", {"model": "accounts.project", "actor": "li"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["object_repr"] for r in results] == ["杭州项目"]
    assert results[0]["changes"][0]["after"] == "杭州"
    assert results[0]["actor_name"] == "li"
    bad = client.get("/api/v1/audit/", {"date_from": "2026-13-01"})
    assert bad.status_code == 400 and set(bad.json()["fields"]) == {"date_from"}
    client.force_authenticate(people["consultant"])
    denied = client.get("/api/v1/audit/")
    assert denied.status_code == 403
    assert denied.json()["code"] == "permission_denied"
    assert client.post("/api/v1/audit/", {}).status_code in {403, 405}
