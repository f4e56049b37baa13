"""Shared widget pieces: identity verification, visitor tokens, allowed origins, rate limits."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from django.core import signing
from django.core.exceptions import ValidationError

from hotro.connectors.widget.identity import identity_secret, rotate_identity_secret, verify_identity
from hotro.connectors.widget.origins import clean_allowed_origins, origin_allowed
from hotro.connectors.widget.ratelimit import rate_limit
from hotro.connectors.widget.tokens import issue_visitor_token, read_visitor_token
from livechat_helpers import make_inbox

pytestmark = pytest.mark.django_db


def test_it_verifies_the_hmac_of_the_user_id_and_refuses_forgeries(ws_a):
    inbox = make_inbox(ws_a)
    secret = identity_secret(inbox)
    good = hmac.new(secret.encode(), b"user-42", hashlib.sha256).hexdigest()
    assert verify_identity(inbox, "user-42", good)
    assert verify_identity(inbox, "user-42", good.upper())  # hex case does not matter
    assert not verify_identity(inbox, "user-43", good)
    assert not verify_identity(inbox, "user-42", good[:-1] + ("0" if good[-1] != "0" else "1"))
    assert not verify_identity(inbox, "user-42", hmac.new(b"other", b"user-42", hashlib.sha256).hexdigest())
    assert not verify_identity(inbox, "", "")
    assert not verify_identity(inbox, "user-42", None)


def test_it_keeps_the_secret_encrypted_and_rotation_invalidates_old_hashes(ws_a):
    from hotro.connectors.models import Inbox

    inbox = make_inbox(ws_a)
    secret = identity_secret(inbox)
    raw = Inbox.objects.filter(pk=inbox.pk).values_list("credentials", flat=True).first()
    assert secret.encode() not in bytes(raw)
    old = hmac.new(secret.encode(), b"u", hashlib.sha256).hexdigest()
    rotate_identity_secret(inbox)
    assert not verify_identity(Inbox.objects.get(pk=inbox.pk), "u", old)


def test_a_visitor_token_reads_only_in_its_own_inbox_and_expires(ws_a, ws_b, settings):
    a, b = make_inbox(ws_a), make_inbox(ws_b)
    token = issue_visitor_token(a, "v1", verified_user_id="u1")
    claims = read_visitor_token(a, token)
    assert (claims.visitor_id, claims.verified_user_id, claims.sender_address) == ("v1", "u1", "user:u1")
    assert read_visitor_token(b, token) is None
    assert read_visitor_token(a, token[:-2] + "xx") is None
    assert read_visitor_token(a, "") is None
    forged = signing.dumps({"i": str(a.pk), "v": "v1", "u": "admin"}, salt="hotro.widget.visitor:other")
    assert read_visitor_token(a, forged) is None
    settings.HOTRO_WIDGET_TOKEN_DAYS = 0
    time.sleep(1.1)
    assert read_visitor_token(a, token) is None


def test_allowed_origins_match_exactly_or_by_subdomain_wildcard(ws_a):
    inbox = make_inbox(ws_a)
    inbox.settings["allowed_origins"] = clean_allowed_origins(
        ["https://shop.example:443/", "https://*.brand.vn", "http://127.0.0.1:8123"]
    )
    assert inbox.settings["allowed_origins"] == [
        "https://shop.example",
        "https://*.brand.vn",
        "http://127.0.0.1:8123",
    ]
    assert origin_allowed(inbox, "https://shop.example")
    assert origin_allowed(inbox, "HTTPS://SHOP.EXAMPLE:443")
    assert origin_allowed(inbox, "https://m.brand.vn")
    assert origin_allowed(inbox, "http://127.0.0.1:8123")
    for refused in (
        "http://shop.example",
        "https://evil.example",
        "https://brand.vn",
        "https://brand.vn.evil.io",
        "https://shop.example.evil.io",
        "null",
        "",
        None,
        "http://127.0.0.1:8124",
    ):
        assert not origin_allowed(inbox, refused), refused
    with pytest.raises(ValidationError):
        clean_allowed_origins(["javascript:alert(1)"])
    with pytest.raises(ValidationError):
        clean_allowed_origins(["https://shop.example/path"])


def test_rate_limit_counts_hits_per_key_and_window():
    key = f"test:{time.time()}"
    assert all(rate_limit(key, 3, 60) for _ in range(3))
    assert not rate_limit(key, 3, 60)
    assert rate_limit(key + ":other", 3, 60)


def test_a_public_verification_never_creates_the_secret(ws_a):
    from hotro.connectors.models import Inbox

    inbox = Inbox.objects.create(workspace=ws_a, connector="livechat", name="Old", credentials={})
    assert not verify_identity(inbox, "user-42", "0" * 64)
    assert Inbox.objects.get(pk=inbox.pk).credentials == {}


def test_the_lazy_secret_merges_into_current_credentials_and_is_made_once(ws_a):
    from hotro.connectors.models import Inbox

    inbox = Inbox.objects.create(
        workspace=ws_a, connector="api", name="Old", credentials={"webhook_secret": "a"}
    )
    stale_1, stale_2 = Inbox.objects.get(pk=inbox.pk), Inbox.objects.get(pk=inbox.pk)
    inbox.credentials = {"webhook_secret": "rotated"}
    inbox.save(update_fields=["credentials"])
    first = identity_secret(stale_1)
    assert identity_secret(stale_2) == first  # the second caller finds the first one's secret
    assert Inbox.objects.get(pk=inbox.pk).credentials == {
        "webhook_secret": "rotated",
        "identity_secret": first,
    }
    rotated = rotate_identity_secret(stale_2)
    assert rotated != first
    assert Inbox.objects.get(pk=inbox.pk).credentials == {
        "webhook_secret": "rotated",
        "identity_secret": rotated,
    }


def test_a_new_livechat_inbox_has_its_secret_from_the_start(ws_a):
    from hotro.connectors.models import Inbox

    inbox = make_inbox(ws_a)
    stored = Inbox.objects.get(pk=inbox.pk).credentials["identity_secret"]
    assert len(stored) >= 32 and identity_secret(inbox) == stored
