"""IMAP IDLE runners: new mail arrives within seconds instead of at the next poll.

``IdleSupervisor`` (a thread; ``hotro manage email_idle`` runs one in the foreground, embedded mode
starts one beside the task worker) keeps an ``IdleRunner`` thread per active e-mail inbox with IMAP.
Runners in any number of processes compete for the inbox's ``ImapLease``; the holder renews it
while idling, so exactly one connection per inbox idles and the others wait.  A server without IDLE
is polled every ``HOTRO_EMAIL_POLL_SECONDS`` by the holder; the periodic poll task covers inboxes
that no runner holds.  IDLE is re-issued every ``HOTRO_EMAIL_IDLE_SECONDS`` (29 min, RFC 2177).
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections

from hotro.privacy.rls import system_scope

from ..base import ConnectorError
from ..health import mark_inbox_error, mark_inbox_ok
from ..models import Inbox
from ..scheduling import worker_id
from .config import load_settings
from .imap import acquire_lease, connect, release_lease, sync_all

log = logging.getLogger(__name__)
LEASE_SECONDS = 120
CHECK_SECONDS = 20


class IdleRunner(threading.Thread):
    def __init__(self, inbox_id, stop: threading.Event | None = None, *, holder: str | None = None):
        super().__init__(name=f"hotro-imap-idle-{inbox_id}", daemon=True)
        self.inbox_id = inbox_id
        self.stop_event = stop or threading.Event()
        self.holder = holder or f"{worker_id()}:{threading.get_ident()}"[:64]
        self.wakeups = 0  # how many times new mail was noticed (tests, diagnostics)
        self.idling = threading.Event()

    def stop(self) -> None:
        self.stop_event.set()

    def _inbox(self) -> Inbox | None:
        with system_scope():
            return Inbox.objects.filter(pk=self.inbox_id, is_active=True, connector="email").first()

    def run(self) -> None:
        failures = 0
        while not self.stop_event.is_set():
            close_old_connections()
            inbox = self._inbox()
            if inbox is None or not load_settings(inbox).imap.configured:
                return
            if not acquire_lease(inbox, "idle", LEASE_SECONDS, self.holder):
                self.stop_event.wait(CHECK_SECONDS)
                continue
            try:
                self.session(inbox)
                failures = 0
            except ConnectorError as exc:
                failures += 1
                mark_inbox_error(inbox, str(exc), permanent=exc.permanent, code=exc.code)
                delay = 300 if exc.permanent else min(300, 5 * 2**failures)
                log.warning("IMAP IDLE for inbox %s failed; retrying in %ss", inbox.pk, delay)
                self.stop_event.wait(delay)
            except Exception:  # noqa: BLE001 - a runner must survive anything and retry
                failures += 1
                log.exception("IMAP IDLE runner for inbox %s crashed", inbox.pk)
                self.stop_event.wait(min(300, 5 * 2**failures))
            finally:
                self.idling.clear()
                release_lease(inbox, self.holder)
                close_old_connections()

    def session(self, inbox: Inbox) -> None:
        cfg = load_settings(inbox)
        with connect(inbox, cfg) as client:
            sync_all(inbox, cfg, client)
            mark_inbox_ok(inbox)
            if not client.has_capability("IDLE"):
                while not self.stop_event.wait(settings.HOTRO_EMAIL_POLL_SECONDS):
                    if not acquire_lease(inbox, "idle", LEASE_SECONDS, self.holder):
                        return
                    sync_all(inbox, cfg, client)
                    mark_inbox_ok(inbox)
                return
            while not self.stop_event.is_set():
                client.select_folder(cfg.folders[0], readonly=not cfg.mark_read)
                client.idle()
                self.idling.set()
                started = time.monotonic()
                news = False
                while not self.stop_event.is_set() and not news:
                    responses = client.idle_check(timeout=CHECK_SECONDS)
                    news = any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)
                    if not acquire_lease(inbox, "idle", LEASE_SECONDS, self.holder):
                        client.idle_done()
                        return
                    if time.monotonic() - started > settings.HOTRO_EMAIL_IDLE_SECONDS:
                        break  # re-issue IDLE before servers drop it (RFC 2177: 29 minutes)
                self.idling.clear()
                client.idle_done()
                if news:
                    self.wakeups += 1
                    # The other folders are not watched by this IDLE: sync them on every wake-up.
                    sync_all(inbox, cfg, client)
                    mark_inbox_ok(inbox)
                close_old_connections()


class IdleSupervisor(threading.Thread):
    """Keeps one ``IdleRunner`` per active e-mail inbox with IMAP settings (re-checked each minute)."""

    def __init__(self, interval: float = 60.0):
        super().__init__(name="hotro-imap-supervisor", daemon=True)
        self.interval = interval
        self.stop_event = threading.Event()
        self.runners: dict[str, IdleRunner] = {}

    def stop(self) -> None:
        self.stop_event.set()
        for runner in self.runners.values():
            runner.stop()

    def wanted(self) -> list[str]:
        with system_scope():
            inboxes = list(Inbox.objects.filter(connector="email", is_active=True))
        return [str(i.pk) for i in inboxes if load_settings(i).imap.configured]

    def tick(self) -> None:
        close_old_connections()
        wanted = set(self.wanted())
        for pk in list(self.runners):
            if pk not in wanted or not self.runners[pk].is_alive():
                self.runners.pop(pk).stop()
        for pk in wanted - set(self.runners):
            runner = IdleRunner(pk, holder=None)
            self.runners[pk] = runner
            runner.start()

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001
                log.exception("IMAP supervisor check failed")
            self.stop_event.wait(self.interval)


def start_in_thread(interval: float = 60.0) -> IdleSupervisor:
    """For the embedded runner: start the IDLE supervisor; call ``.stop()`` on shutdown."""
    supervisor = IdleSupervisor(interval)
    supervisor.start()
    return supervisor
