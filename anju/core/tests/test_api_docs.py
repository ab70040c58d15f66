"""The OpenAPI schema and the Swagger UI page, served from our own static files under CSP."""

import re

import pytest
from django.utils import translation

pytestmark = pytest.mark.django_db


def test_schema_is_valid_openapi_json(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Anju API"
    assert "/api/v1/audit/" in schema["paths"]
    params = {p["name"] for p in schema["paths"]["/api/v1/audit/"]["get"]["parameters"]}
    assert {"actor", "model", "object_id", "text", "date_from", "date_to", "cursor"} <= params


def test_docs_page_loads_vendored_assets_under_csp(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "script-src 'self'" in policy and "unsafe-eval" not in policy
    html = response.content.decode()
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "no CDN or external URL"
    scripts = re.findall(r"<script([^>]*)>", html)
    assert len(scripts) == 3
    for attrs in scripts:
        assert f'nonce="{nonce}"' in attrs
    sources = re.findall(r'src="([^"]+)"', html)
    assert sources and all(src.startswith("/static/drf_spectacular_sidecar/") for src in sources)
    assert 'href="/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css"' in html
    assert "/api/schema/" in html


def test_docs_assets_are_served(client):
    response = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert response.status_code == 200


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_enum_has_a_stable_name(language, settings):
    """Choice sets whose fields share a name (status, stage, kind…) are named in
    SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]; otherwise spectacular adds a hash to the name
    ("Status8b1Enum") and warns (W001, which the deploy check must not silence). Labels are
    part of a set's hash and are translated, hence both languages."""
    from drf_spectacular.checks import schema_check
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.settings import spectacular_settings

    assert "drf_spectacular.W001" not in settings.SILENCED_SYSTEM_CHECKS
    with translation.override(language):
        problems = [f"{p.id}: {p.msg}" for p in schema_check(None)]
        schema = SchemaGenerator().get_schema(request=None, public=True)
    assert problems == []
    enums = {name for name in schema["components"]["schemas"] if name.endswith("Enum")}
    # the suffix is the hash's first 3 hex digits, capitalized ("E82", "4fd"); one with a digit
    # cannot be a word (most hashes have one, and each comes with a W001 anyway)
    suffixes = {name: re.search(r"([0-9A-F][0-9a-f]{2})Enum$", name) for name in enums}
    hashed = sorted(name for name, m in suffixes.items() if m and re.search(r"\d", m[1]))
    assert hashed == []
    # a name whose choices no longer match (a value added to a listed set) would fall back
    # to spectacular's own naming without a word: every name given must be in use
    unused = sorted(set(spectacular_settings.ENUM_NAME_OVERRIDES) - enums)
    assert unused == []
