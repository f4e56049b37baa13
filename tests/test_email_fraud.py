"""Suspension on signs of fraud (PRIVACY.md P10): quarantine, confirmation link, release, audit;
and OAuth2 token refresh before expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from email_support import build_mail, deliver_raw, make_email_inbox, run_on_commit, token_endpoint  # noqa: F401
from hotro.connectors.email.models import Confirmation, QuarantinedMail
from hotro.contacts.models import ContactIdentity
from hotro.conversations.models import Conversation, Message
from hotro.privacy.models import AuditEvent

pytestmark = pytest.mark.django_db


def audit_actions(workspace):
    return list(
        AuditEvent.objects.filter(workspace=workspace).order_by("seq").values_list("action", flat=True)
    )


def test_it_quarantines_display_name_spoofing_and_releases_on_confirmation(ws_a, client, mailoutbox):
    inbox = make_email_inbox(ws_a)
    spoof = build_mail(sender='"support@shop.test" <attacker@evil.test>', subject="Đổi mật khẩu ngay")
    deliver_raw(inbox, spoof)
    deliver_raw(inbox, build_mail(sender="attacker@evil.test", subject="second"))
    assert not Conversation.objects.filter(inbox=inbox).exists()
    held = list(QuarantinedMail.objects.filter(inbox=inbox).order_by("received_at"))
    assert [h.reasons for h in held] == [["display_name_spoofing"], ["identity_suspended"]]
    identity = ContactIdentity.objects.get(pk=held[0].identity_id)
    assert identity.status == "pending_confirmation"
    assert [a for a in audit_actions(ws_a) if a.startswith("email.")] == [
        "email.quarantined",
        "email.identity_suspended",
        "email.confirmation_sent",
        "email.quarantined",
    ]
    [mail] = mailoutbox  # forwarding-only inbox: the link goes out through hotro's own mailer
    assert mail.to == ["attacker@evil.test"] and mail.extra_headers["Auto-Submitted"] == "auto-generated"
    link = next(line for line in mail.body.splitlines() if "/mail/confirm/" in line).strip()
    path = link.split("://", 1)[1].split("/", 1)[1]

    assert client.get("/" + path).status_code == 200
    assert not Conversation.objects.filter(inbox=inbox).exists()  # a GET (link scanner) changes nothing
    with run_on_commit():
        assert client.post("/" + path).status_code == 200
    subjects = [c.subject for c in Conversation.objects.filter(inbox=inbox).order_by("number")]
    assert subjects == ["Đổi mật khẩu ngay", "second"] and Message.objects.filter(inbox=inbox).count() == 2
    identity.refresh_from_db()
    assert identity.status == "active"
    assert client.post("/" + path).status_code == 410  # single use
    assert audit_actions(ws_a)[-3:] == [
        "email.identity_reactivated",
        "email.quarantine_released",
        "email.quarantine_released",
    ]


def test_it_believes_authentication_results_only_from_the_trusted_server(ws_a):
    inbox = make_email_inbox(ws_a, trusted_authserv_id="mx.shop.test")
    forged = build_mail(
        subject="forged pass",
        headers={"Authentication-Results": "mx.shop.test; dmarc=fail header.from=customer.test"},
    )
    injected = build_mail(
        sender="other@customer.test",
        subject="sender's own header",
        headers={"Authentication-Results": "evil.test; dmarc=fail header.from=customer.test"},
    )
    deliver_raw(inbox, forged)
    deliver_raw(inbox, injected)
    assert QuarantinedMail.objects.get(inbox=inbox).reasons == ["authentication_failed"]
    assert [c.subject for c in Conversation.objects.filter(inbox=inbox)] == ["sender's own header"]


def test_sudden_volume_suspends_the_address_and_an_admin_can_release(ws_a, owner_a):
    from hotro.connectors.email.fraud import release

    inbox = make_email_inbox(ws_a, volume_limit=3)
    for i in range(5):
        deliver_raw(inbox, build_mail(subject=f"flood {i}"))
    assert Message.objects.filter(inbox=inbox).count() == 3
    assert QuarantinedMail.objects.filter(inbox=inbox, status="held").count() == 2
    identity = ContactIdentity.objects.get(workspace=ws_a, channel="email")
    assert release(identity, actor=owner_a.user) == 2
    assert Message.objects.filter(inbox=inbox).count() == 5
    assert Confirmation.objects.filter(identity=identity).count() == 1


def test_it_refreshes_the_oauth2_token_before_it_expires(ws_a, token_endpoint):
    from hotro.connectors.base import ConnectorError
    from hotro.connectors.email.oauth import access_token, xoauth2_string

    inbox = make_email_inbox(
        ws_a,
        auth="oauth2",
        oauth2={"token_url": token_endpoint.url, "client_id": "cid"},
        oauth2_client_secret="secret",
        oauth2_refresh_token="refresh-1",
        oauth2_access_token="old",
        oauth2_expires_at=(timezone.now() + timedelta(minutes=2)).isoformat(),
    )
    assert access_token(inbox) == "token-1"  # expires within 5 minutes: refreshed
    assert token_endpoint.calls[0] == {
        "grant_type": "refresh_token",
        "refresh_token": "refresh-1",
        "client_id": "cid",
        "client_secret": "secret",
    }
    inbox.refresh_from_db()
    assert access_token(inbox) == "token-1" and len(token_endpoint.calls) == 1  # still valid: no call
    assert (
        xoauth2_string("someuser@example.com", "ya29.x")
        == "user=someuser@example.com\x01auth=Bearer ya29.x\x01\x01"
    )
    token_endpoint.refuse = True
    inbox.credentials = {**inbox.credentials, "oauth2_expires_at": timezone.now().isoformat()}
    inbox.save(update_fields=["credentials"])
    with pytest.raises(ConnectorError) as info:
        access_token(inbox)
    assert info.value.permanent and info.value.code == "reconnect"
