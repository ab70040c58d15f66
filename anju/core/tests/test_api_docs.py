"""The OpenAPI schema and the Swagger UI page, served from our own static files under CSP."""

import re

import pytest

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
