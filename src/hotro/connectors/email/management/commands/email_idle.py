"""``hotro manage email_idle``: hold IMAP IDLE connections for the e-mail inboxes (run it beside
``hotro worker``; several copies may run, one holds each inbox)."""

import threading

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Watch the e-mail inboxes' IMAP folders with IDLE and fetch new mail as it arrives."

    def handle(self, *args, **options):
        from hotro.connectors.email.idle import start_in_thread

        supervisor = start_in_thread()
        self.stdout.write("Watching e-mail inboxes over IMAP IDLE. Ctrl-C stops.")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            supervisor.stop()
