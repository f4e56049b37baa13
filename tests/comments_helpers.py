"""Shared helpers of the product comments tests (tests/test_comments_*.py)."""

from __future__ import annotations

import json

import pytest

ORIGIN = "https://shop.example.vn"
PRODUCT_ID = "sku-42"
PRODUCT_URL = f"{ORIGIN}/san-pham/ao-dai-lua"
PRODUCT_TITLE = "Áo dài lụa"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache: every test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


class Visitor:
    """One browser on the shop's site talking to the widget API."""

    def __init__(self, client, inbox, *, ip="198.51.100.7", origin=ORIGIN, user_id="", user_hash=""):
        self.client, self.inbox, self.ip, self.origin = client, inbox, ip, origin
        self.user_id, self.user_hash = user_id, user_hash
        self.token = ""

    @property
    def base(self) -> str:
        return f"/comments/api/{self.inbox.public_key}/"

    def headers(self) -> dict:
        headers = {}
        if self.origin:
            headers["Origin"] = self.origin
        if self.token:
            headers["X-Hotro-Visitor"] = self.token
        return headers

    def send(self, path, payload=None, method="post"):
        call = getattr(self.client, method)
        kwargs = {"headers": self.headers(), "REMOTE_ADDR": self.ip}
        if method == "post":
            kwargs.update(data=json.dumps(payload or {}, ensure_ascii=False), content_type="application/json")
        return call(self.base + path, **kwargs)

    def start(self):
        body = {"user_id": self.user_id, "user_hash": self.user_hash} if self.user_id else {}
        response = self.send("session?lang=en", body)
        if response.status_code == 200:
            self.token = response.json()["token"]
        return response

    def post(self, text="Vải có bị nhăn không ạ?", *, name="Lan", kind="comment", lang="en", **fields):
        if not self.token:
            assert self.start().status_code == 200
        payload = {
            "product_id": PRODUCT_ID,
            "product_url": PRODUCT_URL,
            "product_title": PRODUCT_TITLE,
            "name": name,
            "text": text,
            "kind": kind,
            "seconds_on_page": 30,
            **fields,
        }
        return self.send(f"comments?lang={lang}", payload)

    def thread(self, *, sort="newest", page=1, product_id=PRODUCT_ID):
        query = f"comments?product_id={product_id}&sort={sort}&page={page}&lang=en"
        response = self.send(query, method="get")
        assert response.status_code == 200, response.content
        return response.json()

    def vote(self, comment_id):
        if not self.token:
            assert self.start().status_code == 200
        return self.send(f"comments/{comment_id}/helpful?lang=en", {})


def make_inbox(workspace, moderation="publish", **settings):
    from hotro.connectors.comments.inboxes import create_comments_inbox, update_comments_settings

    inbox = create_comments_inbox(workspace, "Cửa hàng", [ORIGIN], moderation)
    if settings:
        update_comments_settings(inbox, **settings)
    return inbox
