"""``hotro manage email_smtpd``: run the inbound SMTP/LMTP receiver in the foreground."""

import threading

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Receive forwarded mail over SMTP (or LMTP) for the e-mail inboxes' receiving addresses."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.HOTRO_SMTP_HOST)
        parser.add_argument("--port", type=int, default=settings.HOTRO_SMTP_PORT)
        parser.add_argument("--lmtp", action="store_true", help="speak LMTP instead of SMTP")

    def handle(self, *args, host, port, lmtp, **options):
        from hotro.connectors.email.receiver import start_in_thread

        controller = start_in_thread(host, port, lmtp=lmtp)
        self.stdout.write(
            f"Receiving mail for *@{settings.HOTRO_MAIL_DOMAIN} on {host}:{port}. Ctrl-C stops."
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
