import re
from urllib.parse import urlparse

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

pytest_plugins = ["api_support"]
pytestmark = pytest.mark.django_db


def test_openapi_schema_loads_and_documents_the_api(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["version"] == "1"
    assert (
        "/api/v1/conversations" in schema["paths"] and "/api/v1/inboxes/{inbox_id}/inbound" in schema["paths"]
    )
    assert schema["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"
    create = schema["paths"]["/api/v1/inboxes"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert "discriminator" in str(create) or "oneOf" in str(create)


def test_docs_page_uses_only_same_origin_assets_and_passes_csp(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(not urlparse(u).netloc and not u.startswith("//") for u in urls), urls
    assert "cdn" not in html.lower()
    csp = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    scripts = re.findall(r"<script([^>]*)>", html)
    executable = [s for s in scripts if "application/json" not in s]
    assert executable and all(f'nonce="{nonce}"' in s and "src=" in s for s in executable)
    assert "validatorUrl" in html  # Swagger UI must not fetch its badge from another origin
    for url in urls:
        if url.startswith("/static/"):
            asset = client.get(url)
            assert asset.status_code == 200, url
            body = b"".join(asset.streaming_content) if asset.streaming else asset.content
            assert len(body) > 100, url


def test_unknown_endpoints_and_methods_answer_json(world_a):
    client = world_a.client()
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong_method = client.delete("/api/v1/members")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"
    assert wrong_method["Allow"] == "GET"


def test_malformed_json_body_is_a_json_error(world_a):
    response = world_a.client().post(
        f"/api/v1/conversations/{world_a.conversation.pk}/reply", "{not json", content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["code"] == "bad_request"


@override_settings(HOTRO_API_RATE="3/m")
def test_rate_limit_per_token_answers_429_with_retry_after(world_a):
    cache.clear()
    client = world_a.client()
    statuses = [client.get("/api/v1/members").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/api/v1/members")
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    cache.clear()
    assert client.get("/api/v1/members").status_code == 200
    assert Client().get("/api/v1/members").status_code == 401  # no token: refused before counting
