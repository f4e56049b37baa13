"""Creating e-mail inboxes through the REST API."""

from __future__ import annotations

import pytest

from api_support import world_a  # noqa: F401
from hotro.connectors.models import Inbox

pytestmark = pytest.mark.django_db


def test_it_creates_a_forwarding_only_email_inbox_with_its_receiving_address(world_a):  # noqa: F811
    response = world_a.client().post(
        "/api/v1/inboxes", {"channel": "email", "name": "Hỗ trợ"}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    inbox = Inbox.objects.get(pk=body["id"])
    assert body["channel"] == "email" and inbox.connector == "email"
    assert body["receiving_address"] == f"{inbox.public_key.lower()}@mail.localhost"
    listed = world_a.client().get(f"/api/v1/inboxes/{inbox.pk}").json()
    assert listed["receiving_address"] == body["receiving_address"]


def test_it_keeps_email_passwords_encrypted_and_never_answers_them(world_a):  # noqa: F811
    payload = {
        "channel": "email",
        "name": "Gmail",
        "imap": {"host": "imap.example.test", "security": "tls", "username": "support@shop.test"},
        "smtp": {"host": "smtp.example.test", "security": "starttls", "username": "support@shop.test"},
        "imap_password": "imap-secret-123",
        "from_address": "support@shop.test",
        "reopen_days": 14,
    }
    response = world_a.client().post("/api/v1/inboxes", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    assert b"imap-secret-123" not in response.content
    inbox = Inbox.objects.get(pk=response.json()["id"])
    assert inbox.settings["imap"]["port"] == 993 and inbox.settings["smtp"]["port"] == 587
    assert inbox.settings["reopen_days"] == 14 and "imap_password" not in inbox.settings
    assert inbox.credentials == {"imap_password": "imap-secret-123"}
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM hotro_inbox WHERE id = %s",
            [inbox.pk.hex if connection.vendor == "sqlite" else inbox.pk],
        )
        stored = cursor.fetchone()[0]
    assert b"imap-secret-123" not in bytes(stored)


def test_it_explains_bad_email_settings(world_a):  # noqa: F811
    response = world_a.client().post(
        "/api/v1/inboxes",
        {"channel": "email", "name": "x", "from_address": "not an address"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "valid sender address" in response.json()["message"]
