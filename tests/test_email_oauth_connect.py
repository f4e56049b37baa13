"""Connecting an e-mail inbox with OAuth2 from its admin page ("Connect with Google / Microsoft"):
the authorization-code flow with PKCE against a fake authorization server on 127.0.0.1 (the browser's
redirects are followed by hand), state checks, errors, disconnect, and the stored grant used by the
IMAP/SMTP token refresh."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from api_support import world_a  # noqa: F401 - fixture
from email_support import make_email_inbox
from hotro.connectors.email import oauth_connect, providers
from hotro.connectors.email.inboxes import create_email_inbox
from hotro.connectors.email.oauth import access_token
from hotro.connectors.models import Inbox, InboxHealth
from hotro.privacy.models import AuditEvent
from hotro.tenancy.models import Membership, Role
from inbox_helpers import add_member
from oauth_support import auth_server, s256  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/mail/oauth/callback/"
SECRET = "client-secret-xyz"  # noqa: S105 - a test value


def login(client, member):
    member.user.language = "en"
    member.user.save(update_fields=["language"])
    client.force_login(member.user)


@pytest.fixture
def admin_a(ws_a, client):
    member = add_member(ws_a, "admin@alpha.test", Role.ADMIN)
    login(client, member)
    return member


def base(inbox, slug="alpha") -> str:
    return f"/w/{slug}/admin/inboxes/{inbox.pk}/"


def custom_inbox(workspace, server, **extra):
    """An inbox with the admin's own OAuth client at the fake server (provider "custom")."""
    server.register("own-client", SECRET, CALLBACK)
    return create_email_inbox(
        workspace,
        "Support mail",
        from_address="support@shop.test",
        imap={"host": "imap.shop.test", "security": "tls", "username": ""},
        smtp={"host": "smtp.shop.test", "security": "starttls", "username": ""},
        oauth2={
            "provider": "custom",
            "authorize_url": server.url("/authorize"),
            "token_url": server.url("/token"),
            "client_id": "own-client",
            "scope": "openid email offline_access mail",
        },
        oauth2_client_secret=SECRET,
        **extra,
    )


@pytest.fixture
def google(auth_server, settings, monkeypatch):  # noqa: F811
    """The Google preset pointed at the fake server, with the operator's client configured."""
    settings.HOTRO_OAUTH_GOOGLE_CLIENT_ID = "operator-google"
    settings.HOTRO_OAUTH_GOOGLE_CLIENT_SECRET = "operator-google-secret"
    preset = dataclasses.replace(
        providers.PRESETS["google"],
        authorize_url=auth_server.url("/authorize"),
        token_url=auth_server.url("/token"),
        revoke_url=auth_server.url("/revoke"),
    )
    monkeypatch.setitem(providers.PRESETS, "google", preset)
    auth_server.register("operator-google", "operator-google-secret", CALLBACK)
    return auth_server


def start(client, inbox, provider="custom", address="", slug="alpha"):
    return client.post(base(inbox, slug) + "email/oauth/connect/", {"provider": provider, "address": address})


def authorize(server, client, inbox, provider="custom", address=""):
    """The admin clicks Connect, the browser goes to the provider, which sends it back: the callback
    URL (path and query) the browser is sent to, not yet requested."""
    response = start(client, inbox, provider, address)
    assert response.status_code == 302, response.content.decode()[:500]
    status, location = server.browse(response["Location"])
    assert status == 302 and location.startswith(CALLBACK), (status, location)
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"


def audit_actions(workspace, prefix="email.oauth"):
    return list(
        AuditEvent.objects.filter(workspace=workspace, action__startswith=prefix)
        .order_by("seq")
        .values_list("action", flat=True)
    )


def assert_nothing_stored(inbox, settings_before, credentials_before):
    inbox.refresh_from_db()
    assert inbox.settings == settings_before and inbox.credentials == credentials_before


# --- the whole flow ---------------------------------------------------------------------------------


def test_an_admin_connects_a_mailbox_with_their_own_client(client, admin_a, ws_a, auth_server):  # noqa: F811
    inbox = custom_inbox(ws_a, auth_server)
    Inbox.objects.filter(pk=inbox.pk).update(health=InboxHealth.NEEDS_ATTENTION, last_error="refused")
    page = client.get(base(inbox) + "email/oauth/")
    body = page.content.decode()
    assert page.status_code == 200
    assert f'<code id="oauth-callback-url">{CALLBACK}</code>' in body  # to register with the provider
    assert 'id="connect-custom"' in body and 'id="connect-google"' not in body  # no operator client
    csp = page["Content-Security-Policy"]
    assert f"form-action 'self' {auth_server.origin}" in csp
    assert csp.count(auth_server.origin) == 1  # nothing is loaded from there, only the form may go

    response = start(client, inbox, "custom", "typed@shop.test")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == auth_server.url("/authorize")
    params = dict(parse_qsl(location.query))
    assert params["response_type"] == "code" and params["client_id"] == "own-client"
    assert params["redirect_uri"] == CALLBACK and params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43 and params["scope"] == "openid email offline_access mail"
    assert params["login_hint"] == "typed@shop.test"
    assert SECRET not in response["Location"]
    pending = client.session[oauth_connect.SESSION_KEY]
    (entry,) = pending.values()
    assert s256(entry["verifier"]) == params["code_challenge"]  # the verifier never leaves the server
    assert entry["verifier"] not in response["Location"]

    status, back = auth_server.browse(response["Location"])
    assert status == 302 and parse_qs(urlsplit(back).query)["state"] == [params["state"]]
    done = client.get(f"{urlsplit(back).path}?{urlsplit(back).query}")
    assert done.status_code == 302 and done["Location"] == base(inbox)
    assert "no-store" in done["Cache-Control"]

    (call,) = auth_server.token_calls
    assert call["grant_type"] == "authorization_code" and call["redirect_uri"] == CALLBACK
    assert call["client_secret"] == SECRET and s256(call["code_verifier"]) == params["code_challenge"]

    inbox.refresh_from_db()
    refresh_token = next(iter(auth_server.refresh_tokens))
    assert inbox.settings["auth"] == "oauth2"
    assert inbox.settings["oauth2"]["provider"] == "custom"
    # the id_token's address wins over the typed one: it is the mailbox that was authorized
    assert inbox.settings["imap"]["username"] == "support@shop.test"
    assert inbox.settings["smtp"]["username"] == "support@shop.test"
    assert inbox.settings["imap"]["host"] == "imap.shop.test"  # a custom provider's servers are kept
    assert inbox.credentials["oauth2_refresh_token"] == refresh_token
    assert inbox.credentials["oauth2_access_token"] == auth_server.access_tokens[-1]
    assert inbox.credentials["oauth2_client_secret"] == SECRET
    assert inbox.health == InboxHealth.OK

    event = AuditEvent.objects.get(workspace=ws_a, action="email.oauth_connected")
    assert event.actor_id == admin_a.user.pk and event.object_id == str(inbox.pk)
    assert event.data == {"provider": "custom", "address_from": "id_token"}
    assert "support@shop.test" not in json.dumps(event.data)

    detail = client.get(base(inbox)).content.decode()
    assert "The mailbox support@shop.test is connected with your provider" in detail
    assert "OAuth2 with your provider" in detail
    for url in (base(inbox), base(inbox) + "email/", base(inbox) + "email/oauth/"):
        html = client.get(url).content.decode()
        for secret in (SECRET, refresh_token, *auth_server.access_tokens, entry["verifier"]):
            assert secret not in html, (url, secret)
    assert (
        "Connected with your provider as support@shop.test"
        in client.get(base(inbox) + "email/oauth/").content.decode()
    )


def test_google_preset_uses_the_operator_client_and_its_servers_and_the_token_refreshes(
    client, admin_a, ws_a, google, django_capture_on_commit_callbacks
):
    inbox = make_email_inbox(ws_a, oauth2_client_secret="an-old-custom-secret")
    page = client.get(base(inbox) + "email/oauth/").content.decode()
    assert "Connect with Google" in page and 'id="connect-microsoft"' not in page
    assert "HOTRO_OAUTH_MICROSOFT_CLIENT_ID" in page  # why Microsoft is not offered

    google.email = "shop@gmail.test"
    response = start(client, inbox, "google")
    params = dict(parse_qsl(urlsplit(response["Location"]).query))
    assert params["client_id"] == "operator-google"
    assert params["access_type"] == "offline" and params["prompt"] == "consent"
    assert params["scope"] == "https://mail.google.com/ openid email"
    assert "login_hint" not in params
    status, back = google.browse(response["Location"])
    done = client.get(f"{urlsplit(back).path}?{urlsplit(back).query}")
    assert done.status_code == 302

    inbox.refresh_from_db()
    assert inbox.settings["imap"] == {
        "host": "imap.gmail.com",
        "port": 993,
        "security": "tls",
        "username": "shop@gmail.test",
        "folders": ["INBOX"],
        "mark_read": False,
    }
    assert inbox.settings["smtp"] == {
        "host": "smtp.gmail.com",
        "port": 587,
        "security": "starttls",
        "username": "shop@gmail.test",
    }
    assert inbox.settings["oauth2"] == {
        "provider": "google",
        "authorize_url": google.url("/authorize"),
        "token_url": google.url("/token"),
        "client_id": "operator-google",
        "scope": "https://mail.google.com/",
    }
    assert "oauth2_client_secret" not in inbox.credentials  # the operator's secret is never copied
    assert google.token_calls[0]["client_secret"] == "operator-google-secret"

    # the IMAP/SMTP sign-in gets its access token from the stored grant
    first = inbox.credentials["oauth2_access_token"]
    assert access_token(inbox) == first and len(google.token_calls) == 1
    inbox.credentials = {**inbox.credentials, "oauth2_expires_at": timezone.now().isoformat()}
    inbox.save(update_fields=["credentials"])
    renewed = access_token(inbox)
    assert renewed != first and renewed == google.access_tokens[-1]
    refresh_call = google.token_calls[-1]
    assert refresh_call["grant_type"] == "refresh_token"
    assert refresh_call["refresh_token"] == inbox.credentials["oauth2_refresh_token"]
    assert refresh_call["client_id"] == "operator-google"
    assert refresh_call["client_secret"] == "operator-google-secret"
    assert refresh_call["scope"] == "https://mail.google.com/"

    # disconnect: tokens gone, the grant revoked at Google after the commit, audited
    refresh_token = inbox.credentials["oauth2_refresh_token"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(base(inbox) + "email/oauth/disconnect/", follow=True)
    assert "The mailbox was disconnected" in response.content.decode()
    inbox.refresh_from_db()
    assert inbox.settings["auth"] == "password"
    assert not {"oauth2_refresh_token", "oauth2_access_token", "oauth2_expires_at"} & set(inbox.credentials)
    assert google.revoked == [refresh_token]
    assert audit_actions(ws_a) == ["email.oauth_connected", "email.oauth_disconnected"]
    assert AuditEvent.objects.get(action="email.oauth_disconnected").data == {
        "provider": "google",
        "revoke": True,
    }
    assert "Connect with Google or Microsoft" in client.get(base(inbox)).content.decode()


def test_the_microsoft_preset_names_its_tenant_and_servers(settings, ws_a):
    settings.HOTRO_OAUTH_MICROSOFT_CLIENT_ID = "ms-client"
    settings.HOTRO_OAUTH_MICROSOFT_CLIENT_SECRET = "ms-secret"
    settings.HOTRO_OAUTH_MICROSOFT_TENANT = "contoso.onmicrosoft.com"
    inbox = make_email_inbox(ws_a)
    client = providers.resolve("microsoft", inbox)
    assert client.authorize_url == (
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
    )
    assert client.token_url == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    assert client.scope.split() == [
        "https://outlook.office.com/IMAP.AccessAsUser.All",
        "https://outlook.office.com/SMTP.Send",
        "offline_access",
    ]
    assert client.client_id == "ms-client" and client.client_secret == "ms-secret"
    assert providers.PRESETS["microsoft"].imap["host"] == "outlook.office365.com"
    assert providers.PRESETS["microsoft"].smtp == {
        "host": "smtp.office365.com",
        "port": 587,
        "security": "starttls",
    }
    settings.HOTRO_OAUTH_MICROSOFT_CLIENT_ID = ""
    with pytest.raises(providers.ProviderUnavailable):
        providers.resolve("microsoft", inbox)


def test_a_provider_that_is_not_set_up_is_refused_with_a_sentence(client, admin_a, ws_a):
    inbox = make_email_inbox(ws_a)
    response = start(client, inbox, "google")
    assert response.status_code == 400
    assert "HOTRO_OAUTH_GOOGLE_CLIENT_ID" in response.content.decode()
    response = start(client, inbox, "custom")
    assert response.status_code == 400
    assert "authorization address, token address and client id" in response.content.decode()
    response = start(client, inbox, "custom", "not an address")
    assert response.status_code == 400 and "Enter the mailbox address" in response.content.decode()
    assert oauth_connect.SESSION_KEY not in client.session


# --- the state ----------------------------------------------------------------------------------------


def test_a_tampered_or_forged_state_is_refused(client, admin_a, ws_a, ws_b, auth_server):  # noqa: F811
    inbox = custom_inbox(ws_a, auth_server)
    other = make_email_inbox(ws_b)
    settings_before, credentials_before = dict(inbox.settings), dict(inbox.credentials)
    callback = authorize(auth_server, client, inbox)
    query = dict(parse_qsl(urlsplit(callback).query))
    state = query["state"]
    flipped = state[:-1] + ("A" if state[-1] != "A" else "B")
    forged = signing.dumps(
        {"n": "x", "u": str(admin_a.user.pk), "w": str(ws_b.pk), "i": str(other.pk)},
        salt=oauth_connect.STATE_SALT,
        key="not-the-server-key",
    )
    for bad in (flipped, forged, "", "garbage"):
        response = client.get("/mail/oauth/callback/", {"code": query["code"], "state": bad})
        assert response.status_code == 400
        assert "This sign-in answer is not valid here" in response.content.decode()
    assert auth_server.token_calls == []
    assert_nothing_stored(inbox, settings_before, credentials_before)
    # the untouched answer still works: the refusals consumed nothing
    assert client.get(callback).status_code == 302
    inbox.refresh_from_db()
    assert inbox.settings["auth"] == "oauth2"


def test_a_state_naming_another_inbox_than_its_flow_is_refused(client, admin_a, ws_a, ws_b, auth_server):  # noqa: F811
    inbox = custom_inbox(ws_a, auth_server)
    other = make_email_inbox(ws_b)
    settings_before, credentials_before = dict(inbox.settings), dict(inbox.credentials)
    callback = authorize(auth_server, client, inbox)
    query = dict(parse_qsl(urlsplit(callback).query))
    # validly signed, but for another workspace's inbox than the flow this nonce belongs to
    nonce = next(iter(client.session[oauth_connect.SESSION_KEY]))
    swapped = oauth_connect.sign_state(nonce, admin_a.user.pk, ws_b.pk, other.pk)
    response = client.get("/mail/oauth/callback/", {"code": query["code"], "state": swapped})
    assert response.status_code == 400
    assert client.get(callback).status_code == 400  # a mismatch spends the flow: start again
    assert auth_server.token_calls == []
    assert_nothing_stored(inbox, settings_before, credentials_before)
    other.refresh_from_db()
    assert other.settings.get("auth") == "password" and "oauth2_refresh_token" not in other.credentials


def test_an_answer_is_used_once(client, admin_a, ws_a, auth_server):  # noqa: F811
    inbox = custom_inbox(ws_a, auth_server)
    callback = authorize(auth_server, client, inbox)
    assert client.get(callback).status_code == 302
    inbox.refresh_from_db()
    stored = dict(inbox.credentials)

    replay = client.get(callback)
    assert replay.status_code == 400
    # the same answer in another browser of the same admin: refused too
    other_browser = Client()
    other_browser.force_login(admin_a.user)
    assert other_browser.get(callback).status_code == 400
    assert len(auth_server.token_calls) == 1
    inbox.refresh_from_db()
    assert inbox.credentials == stored
    assert audit_actions(ws_a) == ["email.oauth_connected"]


def test_a_restored_session_cannot_replay_the_answer(client, admin_a, ws_a, auth_server):  # noqa: F811
    """Two requests reading the same session at once both see the pending flow; the cache marker
    lets only the first through."""
    inbox = custom_inbox(ws_a, auth_server)
    callback = authorize(auth_server, client, inbox)
    pending = client.session[oauth_connect.SESSION_KEY]
    assert client.get(callback).status_code == 302
    session = client.session
    session[oauth_connect.SESSION_KEY] = pending  # as a concurrent request would still have it
    session.save()
    assert client.get(callback).status_code == 400
    assert len(auth_server.token_calls) == 1


def test_an_expired_state_is_refused(client, admin_a, ws_a, auth_server, monkeypatch):  # noqa: F811
    inbox = custom_inbox(ws_a, auth_server)
    settings_before, credentials_before = dict(inbox.settings), dict(inbox.credentials)
    callback = authorize(auth_server, client, inbox)
    monkeypatch.setattr(oauth_connect, "STATE_MAX_AGE", -1)  # any age is too old now
    assert client.get(callback).status_code == 400
    assert auth_server.token_calls == []
    assert_nothing_stored(inbox, settings_before, credentials_before)


def test_another_user_cannot_finish_an_admins_connection(client, admin_a, ws_a, auth_server):  # noqa: F811
    inbox = custom_inbox(ws_a, auth_server)
    settings_before, credentials_before = dict(inbox.settings), dict(inbox.credentials)
    callback = authorize(auth_server, client, inbox)
    other_admin = add_member(ws_a, "admin2@alpha.test", Role.ADMIN)
    other = Client()
    other.force_login(other_admin.user)
    assert other.get(callback).status_code == 400
    anonymous = Client().get(callback)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert auth_server.token_calls == []
    assert_nothing_stored(inbox, settings_before, credentials_before)
    # even holding the pending flow in their session (as if it had been carried over), the state
    # names the admin who started it
    session = other.session
    session[oauth_connect.SESSION_KEY] = client.session[oauth_connect.SESSION_KEY]
    session.save()
    assert other.get(callback).status_code == 400
    assert auth_server.token_calls == []
    assert client.get(callback).status_code == 302  # the admin who started it still can


def test_a_state_signed_too_long_ago_is_refused(monkeypatch, admin_a, ws_a):
    import time

    now = time.time()
    monkeypatch.setattr(signing.time, "time", lambda: now - oauth_connect.STATE_MAX_AGE - 5)
    old = oauth_connect.sign_state("n", admin_a.user.pk, ws_a.pk, "i")
    monkeypatch.setattr(signing.time, "time", lambda: now)
    fresh = oauth_connect.sign_state("n", admin_a.user.pk, ws_a.pk, "i")
    assert oauth_connect.read_state(fresh)["u"] == str(admin_a.user.pk)
    with pytest.raises(oauth_connect.InvalidState):
        oauth_connect.read_state(old)


def test_another_workspace_is_refused(client, admin_a, ws_a, ws_b, owner_b, auth_server):  # noqa: F811
    inbox_a = custom_inbox(ws_a, auth_server)
    inbox_b = make_email_inbox(ws_b)
    settings_before, credentials_before = dict(inbox_a.settings), dict(inbox_a.credentials)
    # an admin of B reaches none of A's pages, with either slug
    b_client = Client()
    b_client.force_login(owner_b.user)
    for slug in ("alpha", "beta"):
        assert b_client.get(base(inbox_a, slug) + "email/oauth/").status_code == 404
        assert start(b_client, inbox_a, "custom", slug=slug).status_code == 404
        assert b_client.post(base(inbox_a, slug) + "email/oauth/disconnect/").status_code == 404
    # and A's admin none of B's inbox under A's slug
    assert client.get(base(inbox_b, "alpha") + "email/oauth/").status_code == 404

    # the admin started in A, then lost the membership before the provider answered
    callback = authorize(auth_server, client, inbox_a)
    Membership.objects.filter(pk=admin_a.pk).update(is_active=False)
    assert client.get(callback).status_code == 404
    assert auth_server.token_calls == []
    assert_nothing_stored(inbox_a, settings_before, credentials_before)


# --- PKCE and provider errors ---------------------------------------------------------------------


def test_the_pkce_verifier_is_checked(client, admin_a, ws_a, auth_server):  # noqa: F811
    inbox = custom_inbox(ws_a, auth_server)
    settings_before, credentials_before = dict(inbox.settings), dict(inbox.credentials)
    callback = authorize(auth_server, client, inbox)
    session = client.session
    pending = session[oauth_connect.SESSION_KEY]
    for entry in pending.values():
        entry["verifier"] = oauth_connect.new_verifier()  # not the one the challenge was made from
    session[oauth_connect.SESSION_KEY] = pending
    session.save()
    response = client.get(callback, follow=True)
    assert "The sign-in was refused by your provider (invalid_grant)" in response.content.decode()
    assert auth_server.token_calls[0]["code_verifier"] == next(iter(pending.values()))["verifier"]
    assert_nothing_stored(inbox, settings_before, credentials_before)
    assert audit_actions(ws_a) == []


def test_denied_consent_changes_nothing(client, admin_a, ws_a, auth_server):  # noqa: F811
    inbox = custom_inbox(ws_a, auth_server)
    settings_before, credentials_before = dict(inbox.settings), dict(inbox.credentials)
    auth_server.decision = "deny"
    callback = authorize(auth_server, client, inbox)
    assert "error=access_denied" in callback
    response = client.get(callback)
    assert response.status_code == 302 and response["Location"] == base(inbox) + "email/oauth/"
    page = client.get(response["Location"]).content.decode()
    assert "Access was not allowed at your provider. Nothing was changed." in page
    assert auth_server.token_calls == []
    assert_nothing_stored(inbox, settings_before, credentials_before)
    assert client.get(callback).status_code == 400  # the state was spent by the refusal

    # any other error the provider names is shown as its code only
    auth_server.decision = "allow"
    callback = authorize(auth_server, client, inbox)
    state = dict(parse_qsl(urlsplit(callback).query))["state"]
    response = client.get("/mail/oauth/callback/", {"error": "invalid_scope<b>", "state": state}, follow=True)
    body = response.content.decode()
    assert "ended with an error (invalid_scopeb). Nothing was changed" in body and "<b>" not in body
    assert auth_server.token_calls == []
    assert_nothing_stored(inbox, settings_before, credentials_before)


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (400, "The sign-in was refused by your provider (invalid_grant)"),
        (503, "The sign-in service of your provider answered 503"),
    ],
)
def test_a_token_endpoint_refusal_changes_nothing(client, admin_a, ws_a, auth_server, status, words):  # noqa: F811
    inbox = custom_inbox(ws_a, auth_server)
    settings_before, credentials_before = dict(inbox.settings), dict(inbox.credentials)
    auth_server.token_status = status
    callback = authorize(auth_server, client, inbox)
    body = client.get(callback, follow=True).content.decode()
    assert words.lower() in body.lower() and "Nothing was changed" in body
    assert_nothing_stored(inbox, settings_before, credentials_before)
    assert audit_actions(ws_a) == []


def test_a_grant_without_refresh_token_is_not_stored(client, admin_a, ws_a, auth_server):  # noqa: F811
    inbox = custom_inbox(ws_a, auth_server)
    settings_before, credentials_before = dict(inbox.settings), dict(inbox.credentials)
    auth_server.issue_refresh_token = False
    body = client.get(authorize(auth_server, client, inbox), follow=True).content.decode()
    assert "Offline access was not granted by your provider (no refresh token)" in body
    assert_nothing_stored(inbox, settings_before, credentials_before)


def test_without_an_id_token_the_typed_address_is_used(client, admin_a, ws_a, auth_server):  # noqa: F811
    inbox = custom_inbox(ws_a, auth_server)
    auth_server.email = ""  # no id_token
    client.get(authorize(auth_server, client, inbox, address="typed@shop.test"))
    inbox.refresh_from_db()
    assert inbox.settings["imap"]["username"] == "typed@shop.test"
    assert AuditEvent.objects.get(action="email.oauth_connected").data["address_from"] == "admin"

    # neither an id_token nor a typed address: nothing to sign in as, nothing stored
    other = custom_inbox(ws_a, auth_server)
    settings_before, credentials_before = dict(other.settings), dict(other.credentials)
    body = client.get(authorize(auth_server, client, other), follow=True).content.decode()
    assert "It is not known which mailbox was connected at your provider" in body
    assert_nothing_stored(other, settings_before, credentials_before)


# --- roles, forms, API -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AGENT, Role.VIEWER])
def test_agents_and_viewers_cannot_connect(client, ws_a, auth_server, role):  # noqa: F811
    inbox = custom_inbox(ws_a, auth_server)
    login(client, add_member(ws_a, f"{role}@alpha.test", role))
    assert client.get(base(inbox) + "email/oauth/").status_code == 403
    assert start(client, inbox).status_code == 403
    assert client.post(base(inbox) + "email/oauth/disconnect/").status_code == 403
    assert auth_server.authorize_requests == [] and oauth_connect.SESSION_KEY not in client.session


def test_an_admin_demoted_to_viewer_meanwhile_cannot_finish(client, admin_a, ws_a, auth_server):  # noqa: F811
    inbox = custom_inbox(ws_a, auth_server)
    settings_before, credentials_before = dict(inbox.settings), dict(inbox.credentials)
    callback = authorize(auth_server, client, inbox)
    Membership.objects.filter(pk=admin_a.pk).update(role=Role.VIEWER)
    assert client.get(callback).status_code == 403
    assert auth_server.token_calls == []
    assert_nothing_stored(inbox, settings_before, credentials_before)


def test_the_settings_form_takes_a_custom_provider_with_a_write_only_secret(client, admin_a, ws_a):
    inbox = make_email_inbox(ws_a)
    url = base(inbox) + "email/"
    data = {
        "name": "Support",
        "from_address": "support@shop.test",
        "imap_security": "tls",
        "smtp_security": "starttls",
        "oauth2_authorize_url": "https://login.example.net/authorize?access_type=offline",
        "oauth2_token_url": "https://login.example.net/token",
        "oauth2_client_id": "my-client",
        "oauth2_client_secret": "my-secret-123",
        "oauth2_scope": "openid  email offline_access",
    }
    assert client.post(url, data).status_code == 302
    inbox.refresh_from_db()
    assert inbox.settings["oauth2"] == {
        "provider": "custom",
        "authorize_url": "https://login.example.net/authorize?access_type=offline",
        "token_url": "https://login.example.net/token",
        "client_id": "my-client",
        "scope": "openid email offline_access",
    }
    assert inbox.settings["auth"] == "password"  # connecting switches it, not saving the settings
    assert inbox.credentials["oauth2_client_secret"] == "my-secret-123"
    page = client.get(url).content.decode()
    assert "my-secret-123" not in page and "A client secret is stored. Leave empty to keep it." in page
    assert 'value="my-client"' in page

    # blank secret keeps it; the connect page offers the custom provider and may post to its origin
    assert client.post(url, {**data, "oauth2_client_secret": ""}).status_code == 302
    inbox.refresh_from_db()
    assert inbox.credentials["oauth2_client_secret"] == "my-secret-123"
    connect_page = client.get(base(inbox) + "email/oauth/")
    assert 'id="connect-custom"' in connect_page.content.decode()
    assert "form-action 'self' https://login.example.net" in connect_page["Content-Security-Policy"]
    response = start(client, inbox)
    query = dict(parse_qsl(urlsplit(response["Location"]).query))
    assert query["access_type"] == "offline" and query["client_id"] == "my-client"

    # a bad address is answered with a sentence
    response = client.post(url, {**data, "oauth2_token_url": "not a url"})
    assert response.status_code == 200 and "Enter the OAuth2 token address" in response.content.decode()
    # emptied: the custom provider is removed
    empty = {k: ("" if k.startswith("oauth2_") else v) for k, v in data.items()}
    assert client.post(url, empty).status_code == 302
    inbox.refresh_from_db()
    assert "oauth2" not in inbox.settings


def test_saving_the_settings_keeps_a_google_connection(client, admin_a, ws_a, google):
    inbox = make_email_inbox(ws_a)
    client.get(authorize(google, client, inbox, "google"))
    inbox.refresh_from_db()
    connected = dict(inbox.settings["oauth2"])
    page = client.get(base(inbox) + "email/").content.decode()
    assert 'name="oauth2_token_url"' in page and google.url("/token") not in page
    response = client.post(
        base(inbox) + "email/",
        {
            "name": "Support",
            "from_address": "shop@example.test",
            "imap_host": "imap.gmail.com",
            "imap_security": "tls",
            "imap_username": "support@shop.test",
            "smtp_host": "smtp.gmail.com",
            "smtp_security": "starttls",
            "smtp_username": "support@shop.test",
        },
    )
    assert response.status_code == 302
    inbox.refresh_from_db()
    assert inbox.settings["auth"] == "oauth2" and inbox.settings["oauth2"] == connected
    assert inbox.credentials["oauth2_refresh_token"]


def test_the_api_takes_a_preset_with_a_write_only_refresh_token(settings, world_a):  # noqa: F811
    settings.HOTRO_OAUTH_MICROSOFT_CLIENT_ID = "ms-client"
    world = world_a
    payload = {
        "channel": "email",
        "name": "Microsoft 365",
        "imap": {"host": "outlook.office365.com", "security": "tls", "username": "support@shop.test"},
        "auth": "oauth2",
        "oauth2": {"provider": "microsoft"},
        "oauth2_refresh_token": "refresh-from-elsewhere-1",
    }
    response = world.client().post("/api/v1/inboxes", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    assert b"refresh-from-elsewhere-1" not in response.content
    inbox = Inbox.objects.get(pk=response.json()["id"])
    assert inbox.settings["oauth2"]["token_url"] == (
        "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    )
    assert inbox.settings["oauth2"]["client_id"] == "ms-client"
    assert inbox.credentials["oauth2_refresh_token"] == "refresh-from-elsewhere-1"
    bad = {**payload, "oauth2": {"provider": "custom", "token_url": "ftp://x"}}
    response = world.client().post("/api/v1/inboxes", bad, content_type="application/json")
    assert response.status_code == 422 and "token address" in response.json()["message"]


def test_the_health_words_say_to_reconnect_an_oauth2_inbox(client, admin_a, ws_a):
    inbox = make_email_inbox(
        ws_a,
        auth="oauth2",
        oauth2={"token_url": "https://login.example.net/token"},
        oauth2_refresh_token="r",
    )
    Inbox.objects.filter(pk=inbox.pk).update(health=InboxHealth.NEEDS_ATTENTION)
    body = client.get(base(inbox)).content.decode()
    assert "the access was revoked. Connect the mailbox again." in body
    assert "Manage the connection" in body
    inbox.credentials = {}
    inbox.save(update_fields=["credentials"])
    Inbox.objects.filter(pk=inbox.pk).update(health=InboxHealth.OK)
    body = client.get(base(inbox)).content.decode()
    assert "signs in with OAuth2 but holds no token" in body


def test_the_access_token_is_still_refused_after_a_disconnect(client, admin_a, ws_a, auth_server):  # noqa: F811
    from hotro.connectors.base import ConnectorError

    inbox = custom_inbox(ws_a, auth_server)
    client.get(authorize(auth_server, client, inbox))
    client.post(base(inbox) + "email/oauth/disconnect/")
    inbox.refresh_from_db()
    inbox.settings = {**inbox.settings, "auth": "oauth2"}
    with pytest.raises(ConnectorError) as info:
        access_token(inbox)
    assert info.value.code == "reconnect"
    assert auth_server.revoked == []  # a custom provider has no revocation address
    assert inbox.credentials["oauth2_client_secret"] == SECRET  # the admin's client stays set up


def test_the_connect_page_speaks_vietnamese(client, admin_a, ws_a, auth_server):  # noqa: F811
    admin_a.user.language = "vi"
    admin_a.user.save(update_fields=["language"])
    inbox = custom_inbox(ws_a, auth_server)
    body = client.get(base(inbox) + "email/oauth/").content.decode()
    assert "Redirect URI cần đăng ký với nhà cung cấp" in body
    assert "Kết nối với nhà cung cấp của bạn" in body and "Connect with" not in body
    assert "Kết nối với Google hoặc Microsoft" in client.get(base(inbox)).content.decode()
