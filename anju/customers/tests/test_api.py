"""The customers API: scoping (404 out of scope), masking, create with the door check (409),
idempotent create, PATCH with version, the 360° data, list filters and keyset pages, search,
phones, tags, needs, consent, tier override, interactions; query counts."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from anju.core.models import SensitiveAccess
from anju.customers.models import (
    ConsentRecord,
    Customer,
    CustomerPhone,
    CustomerTag,
    Interaction,
    Tag,
    TagDimension,
    Tier,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/"
VALID_ID = "11010519491231002X"


def detail(customer) -> str:
    return f"{URL}{customer.pk}/"


@pytest.fixture
def mine(people, make_customer):
    return make_customer("张三", phones=["13800138000"], owner=people["consultant"],
                         id_number=VALID_ID)


@pytest.fixture
def theirs(people, make_customer):
    return make_customer("李四", phones=["13900139000"], owner=people["peer"])


@pytest.fixture
def tags(db):
    dimension, _ = TagDimension.objects.get_or_create(code="api_test", defaults={
        "name": "测试维度", "allows_many": True})
    return [Tag.objects.create(dimension=dimension, name=name) for name in ("学区", "地铁")]


# --- scoping and masking ----------------------------------------------------------------------
def test_list_shows_only_the_consultants_own_customers_masked(people, api_for, mine, theirs):
    response = api_for(people["consultant"]).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["results"]] == [mine.pk]
    row = body["results"][0]
    assert row["phone"] == "138****8000"
    assert row["name"] == "张三" and row["version"] == 1
    assert "count" not in body and body["next"] is None


def test_a_consultant_gets_404_for_another_consultants_customer(people, api_for, theirs):
    client = api_for(people["consultant"])
    assert client.get(detail(theirs)).status_code == 404
    response = client.patch(detail(theirs), {"name": "王五", "version": 1})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert client.get(f"{detail(theirs)}interactions/").status_code == 404
    assert client.post(f"{detail(theirs)}phones/", {"phone": "13700137000"}).status_code == 404
    Customer.objects.get(pk=theirs.pk, name="李四")


def test_anonymous_gets_401(client, mine):
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_detail_is_masked_by_default_and_unmasked_on_request_logged(people, api_for, mine):
    client = api_for(people["consultant"])
    body = client.get(detail(mine)).json()
    assert body["customer"]["phone"] == "138****8000"
    assert body["customer"]["id_number"] != VALID_ID
    assert body["customer"]["id_number"].startswith("1") and "*" in body["customer"]["id_number"]
    assert body["phones"][0]["phone"] == "138****8000"
    assert "13800138000" not in str(body) and VALID_ID not in str(body)
    assert not SensitiveAccess.objects.exists()

    body = client.get(f"{detail(mine)}?unmask=phone,id_number").json()
    assert body["customer"]["phone"] == "+8613800138000"
    assert body["customer"]["id_number"] == VALID_ID
    assert body["phones"][0]["phone"] == "+8613800138000"
    logged = set(SensitiveAccess.objects.values_list("action", "object_id"))
    assert ("unmask", str(mine.pk)) in logged


def test_unmask_is_ignored_without_the_right(people, api_for, make_customer):
    customer = make_customer("张三", phones=["13800138000"], owner=people["consultant"])
    body = api_for(people["marketing"]).get(f"{detail(customer)}?unmask=phone").json()
    assert body["customer"]["phone"] == "138****8000"
    assert not SensitiveAccess.objects.exists()


def test_manager_sees_the_team_list_with_filters(people, api_for, make_customer, tags):
    first = make_customer("张三", owner=people["consultant"], tier=Tier.VIP,
                          marketing_consent=True)
    second = make_customer("李四", owner=people["peer"], stage="prospect")
    make_customer("外人", owner=people["outsider"], project=people["outsider"].projects.get())
    CustomerTag.objects.create(customer=second, tag=tags[0])
    client = api_for(people["manager"])
    ids = lambda query: [row["id"] for row in client.get(URL + query).json()["results"]]  # noqa: E731
    assert ids("") == [second.pk, first.pk]
    assert ids("?tier=vip") == [first.pk]
    assert ids("?stage=prospect") == [second.pk]
    assert ids(f"?tag={tags[0].pk}") == [second.pk]
    assert ids(f"?owner={people['peer'].pk}") == [second.pk]
    assert ids("?consent=true") == [first.pk]
    assert ids("?consent=false") == [second.pk]
    assert ids("?sort=name") == sorted([first.pk, second.pk],
                                       key=lambda pk: Customer.objects.get(pk=pk).name)


def test_list_rejects_bad_filters_naming_the_field(people, api_for):
    response = api_for(people["manager"]).get(URL + "?tier=gold&contact_after=yesterday")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"tier", "contact_after"}


def test_list_pages_by_keyset_without_overlap(people, api_for, make_customer):
    made = [make_customer(f"客户{i}", owner=people["consultant"]) for i in range(5)]
    client = api_for(people["consultant"])
    seen, url = [], URL + "?page_size=2"
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == [c.pk for c in reversed(made)]


def test_list_query_count_is_constant(people, api_for, make_customer, tags):
    client = api_for(people["manager"])
    make_customer("甲", owner=people["consultant"])
    client.get(URL)  # warm: the user's scope and rights are cached on first use
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200
    for index in range(6):
        customer = make_customer(f"乙{index}", owner=people["peer"])
        CustomerTag.objects.create(customer=customer, tag=tags[index % 2])
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(URL).json()["results"]) == 7
    assert len(many.captured_queries) == len(few.captured_queries)
    assert not any("COUNT(" in q["sql"].upper() for q in many.captured_queries)


def test_detail_query_count_is_constant(people, api_for, make_customer, tags):
    client = api_for(people["consultant"])
    customer = make_customer("张三", owner=people["consultant"])
    client.get(detail(customer))
    with CaptureQueriesContext(connection) as few:
        assert client.get(detail(customer)).status_code == 200
    CustomerPhone.objects.create(customer=customer, e164="+8613700137000", last4="7000")
    CustomerTag.objects.bulk_create([CustomerTag(customer=customer, tag=tag) for tag in tags])
    ConsentRecord.objects.create(customer=customer, granted=True, wording_version="v1")
    now = timezone.now()
    Interaction.objects.bulk_create([
        Interaction(customer=customer, user=people["consultant"], kind="call",
                    occurred_at=now - datetime.timedelta(hours=i), outcome="电话沟通")
        for i in range(30)])
    with CaptureQueriesContext(connection) as many:
        body = client.get(detail(customer)).json()
    assert len(body["interactions"]) == 30 and len(body["tags"]) == 2
    assert len(body["phones"]) == 2 and len(body["consents"]) == 1
    assert len(many.captured_queries) == len(few.captured_queries)


# --- create -------------------------------------------------------------------------------------
def test_create_returns_201_with_the_new_customer(people, org, api_for):
    response = api_for(people["consultant"]).post(URL, {
        "name": "王小明", "phones": ["+86 138-0013-8000", "0571 8888 6666"],
        "project": org["a"].pk, "id_number": VALID_ID.lower()}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    customer = Customer.objects.get(pk=body["id"])
    assert customer.owner == people["consultant"] and customer.primary_phone == "+8613800138000"
    assert body["phone"] == "138****8000" and body["version"] == 1
    assert customer.id_number == VALID_ID


def test_create_bad_input_names_the_fields_and_writes_nothing(people, org, api_for):
    response = api_for(people["consultant"]).post(URL, {
        "name": "", "phones": ["138abc"], "id_number": "110105194912310021",
        "project": org["a"].pk}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert {"name", "phones", "id_number"} <= set(body["fields"])
    assert Customer.objects.count() == 0


def test_create_of_a_known_person_offers_the_existing_record(people, org, api_for, theirs,
                                                             mine):
    client = api_for(people["consultant"])
    response = client.post(URL, {"name": "李四", "phones": ["139 0013 9000"],
                                 "project": org["a"].pk}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "duplicate"
    assert body["existing"] == {"id": theirs.pk, "visible": False}
    response = client.post(URL, {"name": "张三", "phones": ["13700000001"],
                                 "id_number": VALID_ID, "project": org["a"].pk}, format="json")
    assert response.status_code == 409
    assert response.json()["existing"] == {"id": mine.pk, "visible": True, "name": "张三"}
    assert Customer.objects.count() == 2


def test_create_is_idempotent_with_a_key(people, org, api_for):
    client = api_for(people["consultant"])
    payload = {"name": "王小明", "phones": ["13800138000"], "project": org["a"].pk}
    first = client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Customer.objects.count() == 1


# --- update -------------------------------------------------------------------------------------
def test_patch_needs_the_version_and_detects_conflicts(people, api_for, mine):
    client = api_for(people["consultant"])
    assert client.patch(detail(mine), {"name": "张三丰"}).status_code == 400
    response = client.patch(detail(mine), {"name": "张三丰", "occupation": "教师",
                                           "version": 1})
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "张三丰" and response.json()["version"] == 2
    assert response.json()["phone"] == "138****8000"
    stale = client.patch(detail(mine), {"name": "张老三", "version": 1})
    assert stale.status_code == 409
    assert stale.json()["code"] == "conflict"
    assert stale.json()["current"]["name"] == "张三丰"
    assert Customer.objects.get(pk=mine.pk).name == "张三丰"
    # The search terms follow the name.
    hits = client.get(f"{URL}search/?q=zsf").json()
    assert [hit["customer"]["id"] for hit in hits] == [mine.pk]


def test_patch_bad_input_names_the_field(people, api_for, mine):
    client = api_for(people["consultant"])
    response = client.patch(detail(mine), {"birthday": "2999-01-01", "version": 1})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"birthday"}
    response = client.patch(detail(mine), {"stage": "nonsense", "id_number": "123",
                                           "version": 1})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"stage", "id_number"}
    assert Customer.objects.get(pk=mine.pk).version == 1


# --- search -------------------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["zs", "zhangs", "zhang san", "张", "8000", "138 0013 8000",
                                   "+8613800138000", VALID_ID])
def test_search_finds_by_what_a_consultant_remembers(people, api_for, mine, theirs, query):
    response = api_for(people["consultant"]).get(f"{URL}search/", {"q": query})
    assert response.status_code == 200
    hits = response.json()
    assert [hit["customer"]["id"] for hit in hits] == [mine.pk]
    assert hits[0]["customer"]["phone"] == "138****8000"
    assert hits[0]["matched_on"]


def test_search_is_scoped(people, api_for, mine, theirs):
    assert api_for(people["consultant"]).get(f"{URL}search/?q=9000").json() == []
    assert api_for(people["outsider"]).get(f"{URL}search/?q=zs").json() == []


def test_search_needs_a_query(people, api_for):
    response = api_for(people["consultant"]).get(f"{URL}search/")
    assert response.status_code == 400
    assert "q" in response.json()["fields"]


def test_search_query_count_is_constant(people, api_for, make_customer):
    client = api_for(people["consultant"])
    make_customer("张三", owner=people["consultant"])
    client.get(f"{URL}search/?q=zs")
    with CaptureQueriesContext(connection) as few:
        client.get(f"{URL}search/?q=zs")
    for index in range(5):
        make_customer(f"张三{index}", owner=people["consultant"])
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(f"{URL}search/?q=zs").json()) == 6
    assert len(many.captured_queries) == len(few.captured_queries)


# --- phones, tags, need, consent, tier ------------------------------------------------------------
def test_phones_add_make_primary_and_remove(people, api_for, mine, theirs):
    client = api_for(people["consultant"])
    url = f"{detail(mine)}phones/"
    added = client.post(url, {"phone": "0571-8888-6666", "label": "家"})
    assert added.status_code == 201, added.json()
    assert added.json()["phone"] == "0571****6666" or "*" in added.json()["phone"]
    taken = client.post(url, {"phone": "13900139000"})
    assert taken.status_code == 409 and taken.json()["existing"]["visible"] is False
    bad = client.post(url, {"phone": "12"})
    assert bad.status_code == 400 and "phone" in bad.json()["fields"]
    new_id = added.json()["id"]
    primary = client.post(f"{url}{new_id}/primary/")
    assert primary.status_code == 200 and primary.json()["is_primary"] is True
    assert Customer.objects.get(pk=mine.pk).primary_phone == "+8657188886666"
    old = CustomerPhone.objects.get(e164="+8613800138000")
    assert client.delete(f"{url}{old.pk}/").status_code == 204
    listed = client.get(url).json()
    assert [row["id"] for row in listed] == [new_id]
    assert client.delete(f"{url}{new_id}/").status_code == 400  # the last one stays


def test_tags_are_set_and_listed_with_dimensions(people, api_for, mine, tags):
    client = api_for(people["consultant"])
    response = client.put(f"{detail(mine)}tags/", {"tags": [tags[0].pk, tags[1].pk]},
                          format="json")
    assert response.status_code == 200, response.json()
    assert {row["name"] for row in response.json()} == {"学区", "地铁"}
    assert response.json()[0]["dimension_code"] == "api_test"
    response = client.put(f"{detail(mine)}tags/", {"tags": [999999]}, format="json")
    assert response.status_code == 400 and "tags" in response.json()["fields"]
    dims = client.get("/api/v1/tag-dimensions/").json()
    assert any(d["code"] == "api_test" and len(d["tags"]) == 2 for d in dims)
    listed = client.get("/api/v1/tags/?dimension=api_test").json()
    assert {t["name"] for t in listed} == {"学区", "地铁"}


def test_need_consent_and_tier_override(people, api_for, mine):
    client = api_for(people["consultant"])
    response = client.put(f"{detail(mine)}need/", {
        "budget_min_wan": "300", "budget_max_wan": "200", "districts": ["余杭区"]},
        format="json")
    assert response.status_code == 400 and "budget_max_wan" in response.json()["fields"]
    response = client.put(f"{detail(mine)}need/", {
        "budget_min_wan": "200", "budget_max_wan": "300", "districts": ["余杭区"],
        "purpose": "upgrade"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["districts"] == ["余杭区"]

    granted = client.post(f"{detail(mine)}consent/", {"granted": True,
                                                      "wording_version": "2026-01"})
    assert granted.status_code == 201
    assert Customer.objects.get(pk=mine.pk).marketing_consent is True
    client.post(f"{detail(mine)}consent/", {"granted": False, "wording_version": "2026-01"})
    history = client.get(f"{detail(mine)}consent/").json()
    assert [row["granted"] for row in history] == [False, True]

    denied = client.post(f"{detail(mine)}tier/", {"tier": "vip", "reason": "老板朋友"})
    assert denied.status_code == 403
    manager = api_for(people["manager"])
    missing = manager.post(f"{detail(mine)}tier/", {"tier": "vip"})
    assert missing.status_code == 400 and "reason" in missing.json()["fields"]
    done = manager.post(f"{detail(mine)}tier/", {"tier": "vip", "reason": "集团介绍"})
    assert done.status_code == 200
    assert done.json()["tier_in_force"] == "vip"
    assert done.json()["tier_override_by"] == people["manager"].pk


# --- interactions -------------------------------------------------------------------------------
def test_interactions_logged_and_listed_per_customer(people, api_for, mine, theirs):
    client = api_for(people["consultant"])
    url = f"{detail(mine)}interactions/"
    tomorrow = timezone.now() + datetime.timedelta(days=1)
    response = client.post(url, {"kind": "visit", "outcome": "首次到访",
                                 "next_follow_up_at": tomorrow.isoformat()})
    assert response.status_code == 201, response.json()
    assert response.json()["user"] == people["consultant"].pk
    assert Customer.objects.get(pk=mine.pk).last_contact_at is not None
    future = client.post(url, {"kind": "call",
                               "occurred_at": (tomorrow + datetime.timedelta(days=1))
                               .isoformat()})
    assert future.status_code == 400 and "occurred_at" in future.json()["fields"]
    bad_kind = client.post(url, {"kind": "fax"})
    assert bad_kind.status_code == 400 and "kind" in bad_kind.json()["fields"]
    listed = client.get(url).json()
    assert [row["outcome"] for row in listed["results"]] == ["首次到访"]

    top = client.post("/api/v1/interactions/", {"customer": mine.pk, "kind": "call",
                                                "outcome": "电话沟通"})
    assert top.status_code == 201
    out_of_scope = client.post("/api/v1/interactions/", {"customer": theirs.pk,
                                                         "kind": "call"})
    assert out_of_scope.status_code == 400 and "customer" in out_of_scope.json()["fields"]
    rows = client.get(f"/api/v1/interactions/?customer={mine.pk}").json()["results"]
    assert len(rows) == 2
    first = Interaction.objects.get(outcome="首次到访")
    assert client.post(f"/api/v1/interactions/{first.pk}/done/").status_code == 200


def test_interactions_list_query_count_is_constant(people, api_for, mine):
    client = api_for(people["consultant"])
    url = f"{detail(mine)}interactions/"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    now = timezone.now()
    Interaction.objects.bulk_create([
        Interaction(customer=mine, user=people["consultant"], kind="call",
                    occurred_at=now - datetime.timedelta(hours=i)) for i in range(12)])
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(url).json()["results"]) == 12
    assert len(many.captured_queries) == len(few.captured_queries)


# --- schema ---------------------------------------------------------------------------------------
def test_schema_documents_the_customers_api(client):
    schema = client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for path in ("/api/v1/customers/", "/api/v1/customers/{id}/",
                 "/api/v1/customers/search/", "/api/v1/customers/{id}/interactions/",
                 "/api/v1/customers/{id}/phones/", "/api/v1/interactions/",
                 "/api/v1/tag-dimensions/"):
        assert path in paths, path
    params = {p["name"] for p in paths["/api/v1/customers/"]["get"]["parameters"]}
    assert {"tier", "stage", "tag", "owner", "project", "channel", "contact_before",
            "contact_after", "consent", "sort", "cursor"} <= params


def test_patch_to_someone_elses_id_number_offers_that_record(people, api_for, mine,
                                                              make_customer):
    other = make_customer("王五", owner=people["consultant"])
    response = api_for(people["consultant"]).patch(
        detail(other), {"id_number": VALID_ID, "version": 1})
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate"
    assert response.json()["existing"]["id"] == mine.pk
    assert Customer.objects.get(pk=other.pk).id_number_hash == ""


def test_errors_speak_english_when_asked(people, org, api_for):
    response = api_for(people["consultant"]).post(
        URL, {"name": "王小明", "phones": ["12"], "project": org["a"].pk}, format="json",
        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "phones" in response.json()["message"]
    assert response.json()["fields"]["phones"][0].isascii()
    chinese = api_for(people["consultant"]).post(
        URL, {"name": "王小明", "phones": ["12"], "project": org["a"].pk}, format="json")
    assert not chinese.json()["fields"]["phones"][0].isascii()
