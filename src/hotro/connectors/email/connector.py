"""The e-mail connector: raw mail (IMAP fetch or the SMTP receiver) in, SMTP replies out."""

from __future__ import annotations

from django.conf import settings

from hotro.privacy.rls import in_workspace

from ..base import Connector, DeliveryResult
from .inbound import decode_raw, to_inbound


class EmailConnector(Connector):
    key = "email"
    name = "E-mail"
    features = frozenset({"attachments", "threads", "subjects", "polling", "html"})

    def parse(self, raw_event) -> list:
        """Pure: the stored mail (base64 in ``payload``) -> one ``EmailInbound``."""
        envelope = raw_event.headers if isinstance(getattr(raw_event, "headers", None), dict) else {}
        return [
            to_inbound(
                decode_raw(raw_event.payload),
                max_attachment_bytes=settings.HOTRO_MAX_ATTACHMENT_BYTES,
                max_total_bytes=settings.HOTRO_EMAIL_MAX_BYTES,
                envelope=envelope,
            )
        ]

    def receive(self, inbox, message):
        from .process import receive_email

        return receive_email(inbox, message)

    @in_workspace("delivery")
    def send(self, delivery) -> DeliveryResult:
        from .outbound import build_email, send_mail

        mail = build_email(delivery)
        send_mail(delivery.inbox, mail)
        return DeliveryResult(external_id=mail.extra_headers["Message-ID"].strip("<>"))

    def poll(self, inbox) -> list:
        from .imap import poll_inbox

        return poll_inbox(inbox)
