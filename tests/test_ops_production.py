"""hotro run the way the README's Production section says (ops/production_stack.py): HOTRO_ENV=production,
PostgreSQL under the Row-Level Security role, Redis, two web processes behind nginx on https, two
workers, a scheduler.  What broke there once must work here: live chat, static files, operator
commands with the role exported, /healthz over plain HTTP."""

from __future__ import annotations

import re
import time
import uuid

import httpx
import pytest

from prodstack_support import StackClient, production_stack  # noqa: F401 - fixture

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def wait_for(predicate, timeout: float = 30.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def test_load_balancers_poll_healthz_over_plain_http(production_stack):
    info = production_stack.info()
    for url in info["web_urls"]:
        response = httpx.get(f"{url}/healthz")  # plain HTTP straight to hotro web, as a balancer does
        assert response.status_code == 200 and response.json() == {"status": "ok", "database": "ok"}
    page = httpx.get(f"{info['http_url']}/accounts/login/")  # people on http are sent to https
    assert page.status_code == 301 and page.headers["location"].startswith("https://")


def test_pages_and_their_static_files_are_served(production_stack):
    with StackClient(production_stack) as client:
        page = client.get("/accounts/login/")
        assert page.status_code == 200 and "strict-transport-security" in page.headers
        assets = set(re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text))
        assert assets, "the login page links no static file"
        for asset in assets:
            response = client.get(asset)
            assert response.status_code == 200, asset
            kind = response.headers["content-type"].split(";")[0]
            assert kind in {"text/css", "text/javascript", "image/svg+xml", "image/png"}, (asset, kind)


def test_operator_commands_work_with_the_app_role_exported(production_stack):
    # the stack made the demo workspace and its token with HOTRO_DB_APP_ROLE exported, as operators do
    assert production_stack.hotro("workspaces").startswith("demo\t")
    assert "is intact" in production_stack.hotro("audit", "verify")
    with StackClient(production_stack) as client:
        assert client.get("/api/v1/inboxes").status_code == 200


def test_live_chat_works_under_row_level_security(production_stack):
    with StackClient(production_stack) as api:
        created = api.post(
            "/api/v1/inboxes",
            json={"channel": "livechat", "name": "Web", "allowed_origins": ["https://shop.example"]},
        )
        assert created.status_code == 201, created.text
        key = created.json()["public_key"]
        assert created.json()["embed_script"].startswith(f'<script src="{production_stack.url}/widget/')
    with httpx.Client(base_url=production_stack.url, verify=production_stack.tls()) as visitor:
        session = visitor.post(f"/widget/{key}/session", json={"lang": "en"})
        assert session.status_code == 200, session.text  # was a 500 under the RLS role
        token = session.json()["token"]
        sent = visitor.post(
            f"/widget/{key}/messages",
            json={"text": "Xin chào, còn hàng không?", "client_id": str(uuid.uuid4())},
            headers={"X-Hotro-Visitor": token},
        )
        assert sent.status_code in {200, 201}, sent.text
    with StackClient(production_stack) as api:
        conversations = wait_for(
            lambda: [
                c
                for c in api.get("/api/v1/conversations").json()["items"]
                if c["inbox"]["channel"] == "livechat"
            ],
            what="the chat's conversation",
        )
        messages = api.get(f"/api/v1/conversations/{conversations[0]['id']}/messages").json()["items"]
        assert [m["text"] for m in messages] == ["Xin chào, còn hàng không?"]


def test_an_inbound_message_is_stored_by_the_worker_processes(production_stack):
    with StackClient(production_stack) as api:
        inbox = api.post("/api/v1/inboxes", json={"channel": "api", "name": "CRM"}).json()
        accepted = api.post(
            f"/api/v1/inboxes/{inbox['id']}/inbound",
            json={
                "external_id": "prod-1",
                "contact": {"external_id": "c-1", "name": "Lan"},
                "text": "Đơn 42",
            },
        )
        assert accepted.status_code == 202 and accepted.json()["status"] == "received"

        def stored():
            for conversation in api.get("/api/v1/conversations", params={"inbox": inbox["id"]}).json()[
                "items"
            ]:
                texts = [
                    m["text"]
                    for m in api.get(f"/api/v1/conversations/{conversation['id']}/messages").json()["items"]
                ]
                if "Đơn 42" in texts:
                    return texts
            return None

        assert wait_for(stored, what="a worker to store the message") == ["Đơn 42"]


def test_the_api_conforms_to_its_openapi_document_under_fuzzing(production_stack, tmp_path):
    """schemathesis with every check, bounded examples and a fixed seed (HOTRO_FUZZ_SEED varies it),
    against a web process of the stack (as nginx would send it: X-Forwarded-Proto https).  Ids of
    real objects are given so that operations reach past 404; NUL characters, which the API refuses
    by design (its description says so), are not generated."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    with StackClient(production_stack) as api:
        inbox = api.post("/api/v1/inboxes", json={"channel": "api", "name": "Fuzz"}).json()
        for n in range(3):
            body = {"external_id": f"fuzz-{n}", "contact": {"email": f"k{n}@example.vn"}, "text": f"Hỏi {n}"}
            assert api.post(f"/api/v1/inboxes/{inbox['id']}/inbound", json=body).status_code == 202
        conversation = wait_for(
            lambda: api.get("/api/v1/conversations", params={"inbox": inbox["id"]}).json()["items"],
            what="the fuzz inbox's conversations",
        )[0]
        contact_id = conversation["contact"]["id"]
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[generation]\nallow-x00 = false\n\n"
        # a 422 is a refusal in words of what the schema cannot say (a real phone number, a time in
        # the future, a move within one channel); anything else valid must be accepted
        "[checks.positive_data_acceptance]\n"
        'expected-statuses = ["2xx", "3xx", 401, 403, 404, 409, 422, 429]\n\n'
        "[parameters]\n"
        f'"path.ref" = "{conversation["number"]}"\n'
        f'"path.inbox_id" = "{inbox["id"]}"\n'
        f'"path.contact_id" = "{contact_id}"\n'
    )
    web = production_stack.info()["web_urls"][0]
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{web}/api/openapi.json",
        "--url",
        web,
        "--checks",
        "all",
        "--max-examples",
        os.environ.get("HOTRO_FUZZ_EXAMPLES", "10"),
        "--seed",
        os.environ.get("HOTRO_FUZZ_SEED", "20261207"),
        "-H",
        f"Authorization: Bearer {production_stack.token}",
        "-H",
        "X-Forwarded-Proto: https",
        "--no-color",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    report = done.stdout[-6000:] + done.stderr[-2000:]
    assert done.returncode == 0, report
    assert "API Operations:" in done.stdout and "Tested: 20" in done.stdout, report
