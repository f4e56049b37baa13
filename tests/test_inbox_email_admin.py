"""Admin pages of e-mail inboxes: create (forwarding-only and with servers), edit with write-only
passwords, health in words, the connection test against real Dovecot / aiosmtpd, and the quarantine
(release in order, discard), each audited."""

from __future__ import annotations

import pytest

from email_support import (  # noqa: F401 - fixtures
    PASSWORD,
    SmtpSink,
    build_mail,
    deliver_raw,
    dovecot,
    mailbox,
    make_email_inbox,
    run_on_commit,
    smtp_sink,
)
from hotro.connectors.email.models import QuarantinedMail
from hotro.connectors.models import Inbox, InboxHealth
from hotro.conversations.models import Conversation
from hotro.privacy.models import AuditEvent
from hotro.tenancy.models import Role
from inbox_helpers import add_member

pytestmark = pytest.mark.django_db
NEW = "/w/alpha/admin/inboxes/new/?channel=email"


def login(client, member):
    member.user.language = "en"
    member.user.save(update_fields=["language"])
    client.force_login(member.user)


@pytest.fixture
def admin_a(ws_a, client):
    member = add_member(ws_a, "admin@alpha.test", Role.ADMIN)
    login(client, member)
    return member


def actions(workspace, prefix=""):
    return list(
        AuditEvent.objects.filter(workspace=workspace, action__startswith=prefix)
        .order_by("seq")
        .values_list("action", flat=True)
    )


def form_data(**values):
    data = {"channel": "email", "name": "Hỗ trợ", "imap_security": "tls", "smtp_security": "starttls"}
    data.update(values)
    return data


@pytest.mark.parametrize("role", [Role.AGENT, Role.VIEWER])
def test_agents_and_viewers_cannot_reach_the_email_pages(client, ws_a, role):
    inbox = make_email_inbox(ws_a)
    login(client, add_member(ws_a, f"{role}@alpha.test", role))
    base = f"/w/alpha/admin/inboxes/{inbox.pk}/"
    assert client.get(NEW).status_code == 403
    assert client.get(base + "email/").status_code == 403
    assert client.post(base + "email/test/").status_code == 403


def test_it_creates_a_forwarding_only_inbox_and_shows_its_receiving_address(client, admin_a, ws_a):
    page = client.get(NEW).content.decode()
    assert "Connect an e-mail inbox" in page and 'name="imap_host"' in page

    response = client.post(NEW, form_data())
    assert response.status_code == 200
    inbox = Inbox.objects.get(workspace=ws_a, connector="email")
    body = response.content.decode()
    address = f"{inbox.public_key.lower()}@mail.localhost"
    assert address in body and 'id="receiving-address"' in body
    assert "Forwarding only" in body
    assert inbox.settings.get("imap") is None and inbox.credentials == {}
    assert actions(ws_a, "inbox.") == ["inbox.created"]


def test_it_creates_an_inbox_with_servers_and_never_shows_the_passwords(client, admin_a, ws_a):
    response = client.post(
        NEW,
        form_data(
            from_name="Shop",
            from_address="support@shop.test",
            signature="Shop team",
            imap_host="imap.shop.test",
            imap_username="support@shop.test",
            imap_password="imap-secret-1",
            imap_folders="INBOX, Support",
            smtp_host="smtp.shop.test",
            smtp_port="2587",
            smtp_username="support@shop.test",
            smtp_password="smtp-secret-1",
            reopen_days="14",
            auto_ack="on",
        ),
    )
    assert response.status_code == 200
    inbox = Inbox.objects.get(workspace=ws_a, connector="email")
    assert inbox.settings["imap"] == {
        "host": "imap.shop.test",
        "port": 993,
        "security": "tls",
        "username": "support@shop.test",
        "folders": ["INBOX", "Support"],
        "mark_read": False,
    }
    assert inbox.settings["smtp"]["port"] == 2587 and inbox.settings["reopen_days"] == 14
    assert inbox.settings["auto_ack"] is True
    assert inbox.credentials == {"imap_password": "imap-secret-1", "smtp_password": "smtp-secret-1"}
    assert "imap-secret-1" not in response.content.decode()
    assert "Not connected yet" in response.content.decode()
    edit = client.get(f"/w/alpha/admin/inboxes/{inbox.pk}/email/").content.decode()
    assert "imap-secret-1" not in edit and "smtp-secret-1" not in edit
    assert "A password is stored. Leave empty to keep it." in edit


def test_a_bad_setting_is_answered_with_a_sentence(client, admin_a, ws_a):
    response = client.post(NEW, form_data(from_address="not an address"))
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert not Inbox.objects.filter(connector="email").exists()


def test_editing_keeps_blank_passwords_and_hidden_settings_and_is_audited(client, admin_a, ws_a):
    inbox = make_email_inbox(ws_a, trusted_authserv_id="mx.shop.test", volume_limit=5)
    inbox.credentials = {"imap_password": "old-imap"}
    inbox.save(update_fields=["credentials"])
    url = f"/w/alpha/admin/inboxes/{inbox.pk}/email/"
    response = client.post(
        url,
        form_data(
            name="Hỗ trợ mới",
            from_address="help@shop.test",
            imap_host="imap.shop.test",
            imap_username="help@shop.test",
            imap_password="",
            smtp_host="smtp.shop.test",
            smtp_password="new-smtp",
        ),
    )
    assert response.status_code == 302
    inbox.refresh_from_db()
    assert inbox.name == "Hỗ trợ mới"
    assert inbox.settings["from_address"] == "help@shop.test"
    assert inbox.settings["imap"]["host"] == "imap.shop.test"
    assert inbox.settings["trusted_authserv_id"] == "mx.shop.test" and inbox.settings["volume_limit"] == 5
    assert inbox.credentials == {"imap_password": "old-imap", "smtp_password": "new-smtp"}
    assert actions(ws_a, "inbox.")[-1] == "inbox.settings_changed"

    # removing the IMAP server makes it forwarding-only again
    client.post(url, form_data(name="Hỗ trợ mới", from_address="help@shop.test"))
    inbox.refresh_from_db()
    assert "imap" not in inbox.settings and "smtp" not in inbox.settings


def test_another_workspace_cannot_edit_or_release(client, ws_a, ws_b, owner_b):
    inbox = make_email_inbox(ws_a)
    login(client, owner_b)
    assert client.get(f"/w/beta/admin/inboxes/{inbox.pk}/email/").status_code == 404
    assert client.post(f"/w/beta/admin/inboxes/{inbox.pk}/email/test/").status_code == 404


def test_health_says_reconnect_needed_in_plain_words(client, admin_a, ws_a):
    inbox = make_email_inbox(ws_a, imap={"host": "imap.shop.test", "username": "u"})
    Inbox.objects.filter(pk=inbox.pk).update(
        health=InboxHealth.NEEDS_ATTENTION,
        last_error="The mail server refused the sign-in.",
        last_error_code="reconnect",
    )
    body = client.get(f"/w/alpha/admin/inboxes/{inbox.pk}/").content.decode()
    assert "Reconnect needed" in body and "The mail server refused the sign-in." in body


def test_health_names_a_settings_problem_instead_of_asking_to_reconnect(client, admin_a, ws_a):
    from hotro.connectors.health import mark_inbox_error

    inbox = make_email_inbox(ws_a, imap={"host": "imap.shop.test", "username": "u"})

    mark_inbox_error(inbox, "The mail server does not offer STARTTLS; choose TLS.", permanent=True, code="")
    body = client.get(f"/w/alpha/admin/inboxes/{inbox.pk}/").content.decode()
    assert "Needs attention: The mail server does not offer STARTTLS; choose TLS." in body
    assert "Reconnect needed" not in body
    mark_inbox_error(inbox, "The mail server refused the sign-in.", permanent=True, code="reconnect")
    inbox.refresh_from_db()
    assert inbox.last_error_code == "reconnect"
    body = client.get(f"/w/alpha/admin/inboxes/{inbox.pk}/").content.decode()
    assert "Reconnect needed" in body


def test_the_connection_test_signs_in_to_real_servers(client, admin_a, ws_a, dovecot, mailbox):
    sink = SmtpSink(auth={"support@shop.test": "smtp-pass"}).start()
    try:
        inbox = make_email_inbox(
            ws_a, dovecot=dovecot, smtp=sink, smtp_password="smtp-pass", imap_password=PASSWORD
        )
        inbox.settings["smtp"]["username"] = "support@shop.test"
        inbox.save(update_fields=["settings"])
        url = f"/w/alpha/admin/inboxes/{inbox.pk}/email/test/"
        body = client.post(url).content.decode()
        assert body.count('class="check-ok"') == 2, body
        assert f"Signed in to 127.0.0.1:{dovecot.port}; the folders exist." in body

        inbox.credentials = {"imap_password": "wrong", "smtp_password": "wrong"}
        inbox.save(update_fields=["credentials"])
        body = client.post(url).content.decode()
        assert body.count('class="check-failed"') == 2
        assert "refused the sign-in" in body
    finally:
        sink.stop()
    sink_port = sink.port
    body = client.post(url).content.decode()  # nothing listens any more: a sentence, within seconds
    assert f"127.0.0.1:{sink_port}" in body and "check-failed" in body


def test_the_quarantine_lists_releases_in_order_and_discards_with_audit(client, admin_a, ws_a):
    inbox = make_email_inbox(ws_a)
    for subject in ("Thư thứ nhất", "Thư thứ hai", "Thư thứ ba"):
        deliver_raw(inbox, build_mail(sender='"support@shop.test" <fake@evil.test>', subject=subject))
    held = list(QuarantinedMail.objects.filter(inbox=inbox).order_by("received_at", "id"))
    assert len(held) == 3 and not Conversation.objects.filter(inbox=inbox).exists()

    page = client.get(f"/w/alpha/admin/inboxes/{inbox.pk}/").content.decode()
    assert "fake@evil.test" in page and "Thư thứ nhất" in page and "Thư thứ ba" in page
    assert "pretends to be your business" in page and "confirmation link sent" in page

    base = f"/w/alpha/admin/inboxes/{inbox.pk}/quarantine/"
    assert client.post(f"{base}{held[1].pk}/discard/").status_code == 302
    with run_on_commit():
        response = client.post(f"{base}senders/{held[0].identity_id}/release/", follow=True)
    assert "2 messages became conversations" in response.content.decode()
    subjects = [c.subject for c in Conversation.objects.filter(inbox=inbox).order_by("number")]
    assert subjects == ["Thư thứ nhất", "Thư thứ ba"]
    assert [h.status for h in QuarantinedMail.objects.filter(inbox=inbox).order_by("received_at", "id")] == [
        "released",
        "discarded",
        "released",
    ]
    events = AuditEvent.objects.filter(
        workspace=ws_a,
        action__in=["email.quarantine_discarded", "email.quarantine_released", "email.identity_reactivated"],
    )
    assert {e.actor_id for e in events} == {admin_a.user.pk}
    assert actions(ws_a, "email.")[-5:] == [
        "email.quarantine_discarded",
        "email.identity_reactivated",
        "email.quarantine_released",
        "email.quarantine_released",
        "email.identity_released_by_admin",
    ]
    assert "Nothing is held." in client.get(f"/w/alpha/admin/inboxes/{inbox.pk}/").content.decode()


def test_the_pages_speak_vietnamese(client, admin_a, ws_a):
    admin_a.user.language = "vi"
    admin_a.user.save(update_fields=["language"])
    inbox = make_email_inbox(ws_a)
    body = client.get(f"/w/alpha/admin/inboxes/{inbox.pk}/").content.decode()
    assert "Địa chỉ nhận thư" in body and "Kiểm tra kết nối" in body
    assert "Connect an e-mail inbox" not in client.get(NEW).content.decode()
