"""Bad input at the API's doors gets a clear 4xx, and nothing accepted or refused is lost (issue 9)."""

from __future__ import annotations

import json

import pytest

from api_support import world_a  # noqa: F401 - fixture
from connectors_helpers import inbound_payload, signed_post
from hotro.connectors.api import create_api_inbox
from hotro.connectors.models import RawEvent, RawEventStatus
from hotro.conversations.models import Attachment, Message

pytestmark = pytest.mark.django_db


def post_inbound(world, payload, **headers):
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return world.client().post(
        f"/api/v1/inboxes/{world.inbox.pk}/inbound", body, content_type="application/json", headers=headers
    )


def kept(inbox) -> list[RawEvent]:
    return list(RawEvent.objects.filter(inbox=inbox, status=RawEventStatus.MALFORMED))


# --- NUL characters, deep nesting, size ------------------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        {"external_id": "ext-\u0000-1"},
        {"text": "xin chào\u0000"},
        {"attachments": [{"filename": "a.txt", "content_type": "text/pl\u0000ain", "data_base64": "aGk="}]},
    ],
    ids=["external_id", "text", "content_type"],
)
def test_a_nul_character_is_refused_with_400_and_the_body_is_kept(world_a, change):
    response = post_inbound(world_a, {**inbound_payload(), **change})
    assert response.status_code == 400
    assert "NUL" in response.json()["message"] and response.json()["code"] == "bad_request"
    [raw] = kept(world_a.inbox)
    assert "\\u0000" in raw.payload  # kept as received (JSON text), for an admin to see
    assert not Message.objects.filter(inbox=world_a.inbox, external_id__startswith="ext-").exists()


def test_the_signed_hook_refuses_a_nul_external_id_and_keeps_it(ws_a, client):
    inbox, secret = create_api_inbox(ws_a, "Hook", "")
    response = signed_post(client, inbox, secret, inbound_payload(ext="x\u0000y"))
    assert response.status_code == 400 and "NUL" in response.json()["message"]
    assert [r.status for r in kept(inbox)] == [RawEventStatus.MALFORMED]
    # the corrected message with the same id is new, not a "duplicate" of the refused one
    fixed = signed_post(client, inbox, secret, inbound_payload(ext="xy"))
    assert fixed.status_code == 200 and fixed.json()["duplicate"] is False


def test_deeply_nested_json_is_refused_not_a_server_error(ws_a, client, world_a):
    inbox, secret = create_api_inbox(ws_a, "Deep", "")
    deep = "[" * 100_000 + "]" * 100_000
    hook = signed_post(client, inbox, secret, deep)
    assert hook.status_code == 400 and "nested too deeply" in hook.json()["message"]
    nested = json.dumps(
        {"external_id": "n1", "contact": {"external_id": "c"}, "text": "x", "z": [[[[[[]]]]]]}
    )
    nested = nested.replace("[[[[[[]]]]]]", "[" * 40 + "]" * 40)
    api = post_inbound(world_a, nested)
    assert api.status_code == 400 and "nested too deeply" in api.json()["message"]
    assert len(kept(inbox)) == 1 and len(kept(world_a.inbox)) == 1


def test_a_body_over_the_limit_is_413_with_the_limit_stated(world_a, settings):
    settings.HOTRO_MAX_REQUEST_BYTES = 1024 * 1024
    response = post_inbound(world_a, b'{"external_id": "big", "text": "' + b"a" * (1024 * 1024 + 10) + b'"}')
    assert response.status_code == 413
    assert response.json() == {"code": "too_large", "message": "The request is too large: send at most 1 MB."}
    assert not RawEvent.objects.filter(inbox=world_a.inbox).exists()


# --- bodies that are not one JSON object -------------------------------------------------------------
@pytest.mark.parametrize("body", ["[1,2,3]", '"x"', "[null,null]", "null", "42", "{not json"])
def test_a_body_that_is_not_one_json_object_is_400_and_changes_nothing(world_a, body):
    client = world_a.client()
    number = world_a.conversation.number
    client.post(
        f"/api/v1/conversations/{number}/assign",
        json.dumps({"assignee_id": str(world_a.agent.pk)}),
        content_type="application/json",
    )
    response = client.post(f"/api/v1/conversations/{number}/assign", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "bad_request" and response.json()["message"].startswith("The body")
    after = client.get(f"/api/v1/conversations/{number}").json()
    assert after["assignee"]["id"] == str(world_a.agent.pk)  # not silently unassigned
    patch = client.patch(f"/api/v1/contacts/{world_a.contact.pk}", body, content_type="application/json")
    assert patch.status_code == 400


def test_fields_take_only_their_declared_types(world_a):
    client = world_a.client()
    number = world_a.conversation.number
    for bad in (1893456000, "tomorrow", "2026-12-08T09:00:00", True):
        response = client.post(
            f"/api/v1/conversations/{number}/status",
            {"status": "snoozed", "snooze_until": bad},
            content_type="application/json",
        )
        assert response.status_code == 422, bad
        assert "snooze_until" in response.json()["message"]
    good = client.post(
        f"/api/v1/conversations/{number}/status",
        {"status": "snoozed", "snooze_until": "2030-12-08T09:00:00+07:00"},
        content_type="application/json",
    )
    assert good.status_code == 200 and good.json()["status"] == "snoozed"
    for bad in ("yes", 1, "true"):
        response = client.post(
            "/api/v1/inboxes",
            {"channel": "email", "name": "Mail", "auto_ack": bad},
            content_type="application/json",
        )
        assert response.status_code == 422 and "auto_ack" in response.json()["message"], bad


# --- errors in plain words, in the client's language -------------------------------------------------
def test_an_unresolvable_webhook_host_is_a_422_sentence(world_a, settings):
    settings.HOTRO_ALLOW_PRIVATE_WEBHOOKS = False
    response = world_a.client().post(
        "/api/v1/inboxes",
        {"channel": "api", "name": "CRM", "webhook_url": "https://no-such-host.invalid/hook"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "no-such-host.invalid could not be found" in response.json()["message"]


def test_api_errors_follow_accept_language_and_default_to_english(world_a):
    path = f"/api/v1/inboxes/{world_a.inbox.pk}/inbound"
    client = world_a.client()
    english = client.post(path, "[]", content_type="application/json", headers={"Accept-Language": ""})
    vietnamese = client.post(
        path, "[]", content_type="application/json", headers={"Accept-Language": "vi-VN"}
    )
    assert english.json()["message"] == "The body must be a JSON object ({...})."
    assert english["Content-Language"] == "en" and vietnamese["Content-Language"] == "vi"
    assert vietnamese.json()["message"] != english.json()["message"]


def test_an_api_inbox_answer_tells_how_to_reach_it(world_a, settings):
    created = world_a.client().post(
        "/api/v1/inboxes", {"channel": "api", "name": "CRM"}, content_type="application/json"
    )
    body = created.json()
    assert created.status_code == 201 and body["public_key"]
    assert body["inbound_url"] == f"{settings.PUBLIC_URL}/hooks/api/{body['public_key']}/"
    listed = world_a.client().get(f"/api/v1/inboxes/{body['id']}").json()
    assert listed["public_key"] == body["public_key"]


def test_the_openapi_document_lists_the_400_and_413_answers(world_a):
    schema = world_a.client().get("/api/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in {"post", "patch", "put"}:
                assert {"400", "413"} <= set(operation["responses"]), (method, path)
    inbound = schema["paths"]["/api/v1/inboxes/{inbox_id}/inbound"]["post"]
    body = inbound["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["external_id", "contact"] and "$ref" not in json.dumps(body)


# --- declared attachment types are checked ------------------------------------------------------------
def test_declared_attachment_types_are_sniffed(world_a, django_capture_on_commit_callbacks):
    import base64

    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    files = [
        ("photo.png", "text/html", png),  # a PNG, whatever the label says
        ("page.html", "text/html", b"<script>alert(1)</script>"),  # HTML is never served as HTML
        ("notes.csv", "text/csv", b"a,b\n1,2\n"),
        ("x.bin", "not a type", b"\x00\x01\x02"),
    ]
    payload = inbound_payload(
        ext="att-1",
        attachments=[
            {"filename": n, "content_type": t, "data_base64": base64.b64encode(d).decode()}
            for n, t, d in files
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert post_inbound(world_a, payload).status_code == 202
    stored = {a.filename: a.content_type for a in Attachment.objects.filter(message__external_id="att-1")}
    assert stored == {
        "photo.png": "image/png",
        "page.html": "application/octet-stream",
        "notes.csv": "text/csv",
        "x.bin": "application/octet-stream",
    }
