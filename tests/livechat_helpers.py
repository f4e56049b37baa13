"""Shared helpers for the live-chat tests."""

from __future__ import annotations

import json
import uuid

from django.test import Client

from hotro.connectors.livechat import create_livechat_inbox
from hotro.connectors.widget.identity import identity_secret, user_hash

SITE = "https://shop.example"


def make_inbox(workspace, **options):
    return create_livechat_inbox(workspace, "Website chat", [SITE], **options)


def start(client: Client, inbox, token=None, user_id="", secret_hash="", lang="vi"):
    body = {"token": token, "user_id": user_id, "user_hash": secret_hash, "lang": lang}
    return client.post(
        f"/widget/{inbox.public_key}/session", json.dumps(body), content_type="application/json"
    )


def verified_hash(inbox, user_id: str) -> str:
    return user_hash(identity_secret(inbox), user_id)


def post(client: Client, inbox, token, path, body):
    return client.post(
        f"/widget/{inbox.public_key}/{path}",
        json.dumps(body),
        content_type="application/json",
        HTTP_X_HOTRO_VISITOR=token,
    )


def say(client: Client, inbox, token, text, client_id=None):
    return post(client, inbox, token, "messages", {"text": text, "client_id": client_id or str(uuid.uuid4())})
