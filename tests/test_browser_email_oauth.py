"""Connecting an e-mail inbox with OAuth2 in a real browser: the admin's form POST is redirected to
the provider's authorization page (another origin: the connect page's CSP form-action must allow
it), the provider sends the browser back to the same-origin callback, and the inbox is connected.
Nothing is loaded from another origin; only the top-level navigation goes to the provider."""

from __future__ import annotations

import pytest

from browser_support import PASSWORD, browser, log_in, serving, shot  # noqa: F401
from oauth_support import auth_server  # noqa: F401

# the browser mark: conftest skips without Chromium / Playwright, or fails when services are required
pytestmark = pytest.mark.browser

SETUP = """
import json
import django
django.setup()
from hotro.connectors.email.inboxes import create_email_inbox
from hotro.tenancy.actions import do_create_workspace

workspace = do_create_workspace(slug="demo", name="Cửa hàng Demo", owner_email="chi@demo.test",
                                password=%(password)r)
from hotro.accounts.models import User
User.objects.filter(email="chi@demo.test").update(language="en")
inbox = create_email_inbox(
    workspace, "Hỗ trợ qua email", from_address="support@shop.test",
    imap={"host": "imap.shop.test", "security": "tls"},
    oauth2={"provider": "custom", "authorize_url": %(authorize)r, "token_url": %(token)r,
            "client_id": "browser-client", "scope": "openid email offline_access"},
    oauth2_client_secret="browser-secret",
)
print(json.dumps({"inbox": str(inbox.pk)}))
"""

CHECK = """
import json
import django
django.setup()
from hotro.connectors.models import Inbox
from hotro.privacy.rls import system_scope

with system_scope():
    inbox = Inbox.objects.get()
    print(json.dumps({"auth": inbox.settings.get("auth"), "user": inbox.settings["imap"]["username"],
                      "token": bool(inbox.credentials.get("oauth2_refresh_token"))}))
"""


def test_the_admin_connects_the_mailbox_through_the_providers_page(tmp_path, browser, auth_server):  # noqa: F811
    setup = SETUP % {
        "password": PASSWORD,
        "authorize": auth_server.url("/authorize"),
        "token": auth_server.url("/token"),
    }
    auth_server.email = "lan@shop.test"
    with serving(tmp_path, setup, db="oauthbrowser") as server:
        auth_server.register("browser-client", "browser-secret", f"{server.url}/mail/oauth/callback/")
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        page = context.new_page()
        urls, problems = [], []
        page.on("request", lambda r: urls.append(r.url))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        log_in(page, server.url, "chi@demo.test")
        inbox = server.info["inbox"]
        page.goto(f"{server.url}/w/demo/admin/inboxes/{inbox}/email/oauth/")
        assert page.locator("#oauth-callback-url").inner_text() == f"{server.url}/mail/oauth/callback/"
        shot(page, "email-oauth-connect-1280")
        page.click("#connect-custom")
        page.wait_for_url(f"{server.url}/w/demo/admin/inboxes/{inbox}/")
        page.get_by_text("is connected with your provider").wait_for()
        assert "lan@shop.test" in page.locator(".flash").inner_text()
        assert [r["redirect_uri"] for r in auth_server.authorize_requests] == [
            f"{server.url}/mail/oauth/callback/"
        ]
        assert len(auth_server.token_calls) == 1
        state = server.run_python(CHECK).strip().splitlines()[-1]
        assert state == '{"auth": "oauth2", "user": "lan@shop.test", "token": true}'
        # the provider was only navigated to; every other request stayed on hotro's origin
        foreign = [u for u in urls if not u.startswith(server.url + "/")]
        assert len(foreign) == 1 and foreign[0].startswith(auth_server.url("/authorize?")), foreign
        assert not problems, problems
        context.close()
