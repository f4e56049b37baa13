"""Suspending an e-mail identity on signs of fraud (PRIVACY.md P10, Bizfly policy §3).

Signals: Authentication-Results *from the inbox's trusted server only* saying SPF/DKIM/DMARC failed,
a display name that claims the business's own domain from an address elsewhere, and sudden volume
from one address.  States: active -> suspended -> pending_confirmation (a single-use link was sent)
-> active (the customer confirmed, or an admin released).  While not active, mail is kept in
quarantine (encrypted, no conversation).  Every transition is audited, with signal names only.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hotro.contacts.actions import LOOK_UP, do_resolve_contact
from hotro.contacts.models import ContactIdentity, IdentityStatus
from hotro.privacy.audit import record
from hotro.privacy.rls import in_workspace
from hotro.realtime.events import send_event_on_commit

from ..scheduling import enqueue_on_commit
from .auth_results import looks_spoofed, parse_authentication_results
from .config import EmailSettings
from .headers import Headers
from .inbound import decode_raw, encode_raw, to_inbound
from .models import Confirmation, QuarantinedMail, QuarantineStatus, SenderEvent

CONFIRM_SALT = "hotro.email.confirm"
CONFIRM_DAYS = 7


def signals(inbox, cfg: EmailSettings, parsed, idx: int) -> list[str]:
    """Names of the fraud signals this mail shows (empty: nothing suspicious)."""
    from .process import count_recent

    found = []
    if cfg.trusted_authserv_id:
        results = parse_authentication_results(Headers(parsed.headers), cfg.trusted_authserv_id)
        if results.found and results.failed:
            found.append("authentication_failed")
    sender = parsed.from_
    if sender and looks_spoofed(sender.name, sender.email, cfg.spoof_domains):
        found.append("display_name_spoofing")
    if count_recent(inbox, idx, SenderEvent.MAIL) >= cfg.volume_limit:
        found.append("sudden_volume")
    return found


def _transition(identity: ContactIdentity, status: str, action: str, *, actor=None, data=None) -> None:
    previous = identity.status
    ContactIdentity.objects.filter(pk=identity.pk).update(status=status)
    identity.status = status
    record(
        identity.workspace_id,
        action,
        actor=actor,
        object_type="contact_identity",
        object_id=identity.pk,
        data={"from": previous, "to": status, **(data or {})},
    )


@transaction.atomic
def quarantine(inbox, inbound, reasons: list[str], *, found=LOOK_UP) -> QuarantinedMail:
    """Keep the mail (encrypted, no conversation).  With ``reasons`` the identity is suspended now
    and a confirmation link is sent; otherwise it already was suspended.  ``found``: the sender's
    identity as ``find_identity`` just returned it (``do_resolve_contact``)."""
    identity, _created = do_resolve_contact(
        inbox.workspace_id,
        channel="email",
        address=inbound.sender_address,
        name=inbound.sender_name,
        email=inbound.sender_email,
        found=found,
    )
    held = QuarantinedMail.objects.filter(inbox=inbox, external_id=inbound.external_id).first()
    if held is None:
        held = QuarantinedMail.objects.create(
            workspace_id=inbox.workspace_id,
            inbox=inbox,
            identity=identity,
            external_id=inbound.external_id,
            raw=encode_raw(inbound.raw),
            reasons=reasons or ["identity_suspended"],
        )
        record(
            inbox.workspace_id,
            "email.quarantined",
            object_type="quarantined_mail",
            object_id=held.pk,
            data={"identity": str(identity.pk), "reasons": held.reasons},
        )
    if reasons and identity.status == IdentityStatus.ACTIVE:
        _transition(identity, IdentityStatus.SUSPENDED, "email.identity_suspended", data={"reasons": reasons})
        send_confirmation_link(inbox, identity)
    send_event_on_commit(
        inbox.workspace_id,
        {"type": "email.quarantined", "inbox_id": str(inbox.pk), "quarantine_id": str(held.pk)},
    )
    return held


def make_token(confirmation: Confirmation) -> str:
    return signing.Signer(salt=CONFIRM_SALT).sign(str(confirmation.pk))


def confirmation_url(token: str) -> str:
    from django.urls import reverse

    return settings.PUBLIC_URL + reverse("email_channel:confirm", args=[token])


def send_confirmation_link(inbox, identity: ContactIdentity) -> Confirmation:
    """Create a single-use link and mail it (after commit) to the address; the identity becomes
    ``pending_confirmation``."""
    confirmation = Confirmation.objects.create(
        workspace_id=identity.workspace_id,
        identity=identity,
        inbox=inbox,
        token_hash="",
        expires_at=timezone.now() + timedelta(days=CONFIRM_DAYS),
    )
    confirmation.token_hash = hashlib.sha256(make_token(confirmation).encode()).hexdigest()
    confirmation.save(update_fields=["token_hash"])
    _transition(
        identity,
        IdentityStatus.PENDING,
        "email.confirmation_sent",
        data={"confirmation": str(confirmation.pk)},
    )
    from .tasks import send_confirmation

    enqueue_on_commit(send_confirmation, str(confirmation.pk))
    return confirmation


def deliver_confirmation(confirmation_id: str) -> bool:
    """Mail the link (task body).  Returns whether a mail was sent."""
    from .outbound import send_mail, system_mail

    confirmation = Confirmation.objects.select_related("identity", "inbox").filter(pk=confirmation_id).first()
    if confirmation is None or confirmation.used_at is not None:
        return False
    link = confirmation_url(make_token(confirmation))
    body = _(
        "We received e-mail from this address that we could not be sure came from you, so we are "
        "holding it for now.\n\nIf you wrote to us, confirm it here "
        "(the link works once, for %(days)s days):\n"
        "%(link)s\n\nIf you did not write to us, ignore this message; nothing will be done with that mail."
    ) % {"days": CONFIRM_DAYS, "link": link}
    mail = system_mail(
        confirmation.inbox, confirmation.identity.address, _("Please confirm your message"), body
    )
    send_mail(confirmation.inbox, mail)
    return True


class ConfirmationInvalid(Exception):
    """The link is unknown, used, or expired; the message says what to do."""


def find_confirmation(token: str) -> Confirmation:
    try:
        pk = signing.Signer(salt=CONFIRM_SALT).unsign(token)
    except signing.BadSignature:
        raise ConfirmationInvalid(
            _("This confirmation link is not valid. Write to us again to get a new one.")
        ) from None
    from hotro.privacy.rls import system_scope

    with system_scope():  # the workspace is known only once the signed id has found the row
        confirmation = Confirmation.objects.select_related("identity", "inbox").filter(pk=pk).first()
    if confirmation is None or confirmation.token_hash != hashlib.sha256(token.encode()).hexdigest():
        raise ConfirmationInvalid(
            _("This confirmation link is not valid. Write to us again to get a new one.")
        )
    if confirmation.used_at is not None:
        raise ConfirmationInvalid(_("This link was already used. Your messages have been passed on."))
    if confirmation.expires_at < timezone.now():
        raise ConfirmationInvalid(_("This link has expired. Write to us again to get a new one."))
    return confirmation


def confirm(token: str) -> int:
    """The customer confirmed: the link is spent, the identity active again, quarantined mail
    released in order.  Returns how many messages were released."""
    from hotro.privacy.rls import tenant_scope

    confirmation = find_confirmation(token)
    with tenant_scope(confirmation.workspace_id), transaction.atomic():
        if not Confirmation.objects.filter(pk=confirmation.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        ):
            raise ConfirmationInvalid(_("This link was already used. Your messages have been passed on."))
        return release(confirmation.identity, reason="customer_confirmed")


@in_workspace("identity", atomic=True)
def release(identity: ContactIdentity, *, actor=None, reason: str = "admin_released") -> int:
    """Make the identity active and pass its held mail into conversations, oldest first."""
    from .process import receive_email

    identity = ContactIdentity.objects.select_for_update().get(pk=identity.pk)
    if identity.status != IdentityStatus.ACTIVE:
        _transition(
            identity,
            IdentityStatus.ACTIVE,
            "email.identity_reactivated",
            actor=actor,
            data={"reason": reason},
        )
    held = list(
        QuarantinedMail.objects.filter(identity=identity, status=QuarantineStatus.HELD)
        .select_related("inbox")
        .order_by("received_at", "id")
    )
    for item in held:
        inbound = to_inbound(
            decode_raw(item.raw),
            max_attachment_bytes=settings.HOTRO_MAX_ATTACHMENT_BYTES,
            max_total_bytes=settings.HOTRO_EMAIL_MAX_BYTES,
        )
        receive_email(item.inbox, inbound, released=True)
        QuarantinedMail.objects.filter(pk=item.pk).update(
            status=QuarantineStatus.RELEASED, released_at=timezone.now()
        )
        record(
            identity.workspace_id,
            "email.quarantine_released",
            actor=actor,
            object_type="quarantined_mail",
            object_id=item.pk,
            data={"reason": reason},
        )
    return len(held)


@transaction.atomic
def discard(item: QuarantinedMail, *, actor=None) -> None:
    """An admin judged held mail fraudulent: it stays out of conversations for good."""
    if QuarantinedMail.objects.filter(pk=item.pk, status=QuarantineStatus.HELD).update(
        status=QuarantineStatus.DISCARDED
    ):
        record(
            item.workspace_id,
            "email.quarantine_discarded",
            actor=actor,
            object_type="quarantined_mail",
            object_id=item.pk,
        )
