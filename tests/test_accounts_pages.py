"""The account pages (allauth inside hotro's layout): Vietnamese, password reset, CSP hygiene."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail

import hotro

pytestmark = pytest.mark.django_db

VI = {"accept-language": "vi"}


def test_account_pages_speak_vietnamese(client, owner_a):
    client.force_login(owner_a.user)
    pages = {
        "/accounts/password/change/": "Mật khẩu hiện tại",
        "/accounts/2fa/": "Ứng dụng xác thực",
        "/accounts/logout/": "Bạn có chắc muốn đăng xuất?",
        "/accounts/password/reset/": "Quên mật khẩu?",
    }
    for url, text in pages.items():
        response = client.get(url, headers=VI)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url


def test_password_reset_mails_a_link(client, owner_a):
    response = client.post("/accounts/password/reset/", {"email": "owner@alpha.test"}, headers=VI)
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@alpha.test"]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    assert "Bạn nhận được email này" in mail.outbox[0].body


TEMPLATE_DIRS = [
    Path(hotro.__file__).parent / "accounts" / "templates",
    Path(hotro.__file__).parent / "tenancy" / "templates",
]
FORBIDDEN = [
    (re.compile(r"\sstyle\s*="), "inline style attribute (CSP style-src 'self')"),
    (re.compile(r"\son[a-z]+\s*=", re.IGNORECASE), "inline event handler (CSP)"),
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")", re.IGNORECASE), "inline script"),
    (re.compile(r"(src|href)=\"(https?:)?//"), "asset from another origin"),
]


def test_templates_keep_to_the_content_security_policy():
    files = [p for d in TEMPLATE_DIRS for p in d.rglob("*.html")]
    assert len(files) > 10
    for path in files:
        text = path.read_text()
        for pattern, why in FORBIDDEN:
            assert not pattern.search(text), f"{path}: {why}"
