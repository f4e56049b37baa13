"""Embedded mode (``hotro up`` / ``make up``): web, task worker, scheduler and mail in one process.

uvicorn serves in the main thread (it owns the signal handlers); django-tasks-db's own ``Worker``,
django-crontask's APScheduler, the inbound SMTP receiver (aiosmtpd, 127.0.0.1:2525 or ``SMTP_PORT``)
and the IMAP IDLE supervisor run in background threads.  Ctrl-C (SIGINT) or SIGTERM stops
uvicorn, which returns here; the worker finishes the task it is running, the scheduler stops, and
the process exits with status 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from contextlib import suppress

from channels.layers import InMemoryChannelLayer

logger = logging.getLogger("hotro.embedded")

STOP_TIMEOUT_SECONDS = 10.0


class TaskWorkerThread(threading.Thread):
    """Runs ``django_tasks_db``'s worker loop (the code behind ``manage.py db_worker``)."""

    def __init__(self, *, interval: float = 0.5, backend_name: str = "default") -> None:
        super().__init__(name="hotro-task-worker", daemon=True)
        from django_tasks_db.management.commands.db_worker import Worker

        from hotro.connectors.scheduling import use_worker_id
        from hotro.connectors.workers import Heartbeat, new_worker_id

        worker_id = new_worker_id("embedded-")
        use_worker_id(worker_id)
        self.heartbeat = Heartbeat(worker_id)
        self.worker = Worker(
            queue_names=["*"],
            interval=interval,
            batch=False,
            backend_name=backend_name,
            startup_delay=False,
            max_tasks=None,
            worker_id=worker_id,
            excluded_queue_names=[],
        )

    def run(self) -> None:
        from django.db import connections

        self.heartbeat.start()
        try:
            self.worker.run()
        except Exception:
            logger.exception("The task worker stopped after an unexpected error.")
            raise
        finally:
            self.heartbeat.stop()
            connections.close_all()

    def stop(self) -> None:
        # The worker checks this flag between tasks and after each idle interval.
        self.worker.running = False
        self.heartbeat.stop()


class SchedulerThread(threading.Thread):
    """Runs django-crontask's scheduler (the code behind ``manage.py crontask``) without its signals."""

    def __init__(self) -> None:
        super().__init__(name="hotro-scheduler", daemon=True)
        self._stopping = threading.Event()
        self._started = threading.Event()

    def run(self) -> None:
        from crontask import scheduler, utils
        from crontask.management.commands.crontask import Command
        from django.db import connections

        try:
            Command().load_tasks({})
            with utils.lock:
                if self._stopping.is_set():
                    return
                self._started.set()
                scheduler.start()
        except utils.LockError:
            logger.warning("Another scheduler holds the lock; this process will not schedule periodic jobs.")
        finally:
            self._started.set()
            connections.close_all()

    def stop(self) -> None:
        from apscheduler.schedulers import SchedulerNotRunningError
        from crontask import scheduler

        self._stopping.set()
        # Wait until start() has been reached, so that shutdown() does not race it.
        self._started.wait(timeout=STOP_TIMEOUT_SECONDS)
        with suppress(SchedulerNotRunningError):
            scheduler.shutdown(wait=False)


class MailReceiverService:
    """The inbound SMTP receiver (aiosmtpd runs its own thread); ``stop_services`` stops it like the
    threads above.  A port in use is reported in a sentence and the rest of hotro runs without it."""

    name = "hotro-smtp-receiver"

    def __init__(self, host: str | None = None, port: int | None = None) -> None:
        from django.conf import settings

        self.host = host or settings.HOTRO_SMTP_HOST
        self.port = settings.HOTRO_SMTP_PORT if port is None else port
        self.controller = None

    def start(self) -> None:
        from hotro.connectors.email.receiver import start_in_thread

        try:
            self.controller = start_in_thread(self.host, self.port)
        except (OSError, RuntimeError) as exc:
            logger.warning(
                "The e-mail receiver cannot listen on %s:%s (%s); forwarded mail will not arrive. "
                "Free that port or set SMTP_PORT to another one.",
                self.host,
                self.port,
                exc,
            )

    @property
    def running(self) -> bool:
        return self.controller is not None

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def join(self, timeout: float | None = None) -> None:
        """``stop()`` already waited for aiosmtpd's thread."""

    def is_alive(self) -> bool:
        return self.controller is not None


def start_imap_idle():
    from hotro.connectors.email.idle import start_in_thread

    return start_in_thread()


def task_backend_is_database(alias: str = "default") -> bool:
    from django.tasks import task_backends
    from django_tasks_db.backend import DatabaseBackend

    return isinstance(task_backends[alias], DatabaseBackend)


def serve(
    host: str,
    port: int,
    *,
    worker: bool = True,
    scheduler: bool = True,
    mail: bool = True,
    log_level: str = "info",
) -> None:
    """Serve the ASGI application until interrupted, with the worker, the scheduler and (``mail``)
    the SMTP receiver and IMAP IDLE supervisor beside it."""
    import uvicorn

    services: list = []
    if worker and task_backend_is_database():
        services.append(TaskWorkerThread())
    if scheduler:
        services.append(SchedulerThread())
    if mail:
        services.append(MailReceiverService())
    for service in services:
        service.start()
    if mail:
        services.append(start_imap_idle())  # a thread already started, stopped with the others

    from .logs import uvicorn_log_config

    config = uvicorn.Config(
        "hotro.config.asgi:application",
        host=host,
        port=port,
        lifespan="off",
        log_level=log_level,
        log_config=uvicorn_log_config(),
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal it caught once it has shut down; with this handler SIGTERM, like
    # SIGINT, becomes KeyboardInterrupt: our cue to stop the other services and exit normally.
    previous = signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    try:
        with suppress(KeyboardInterrupt):
            server.run()
    finally:
        stop_services(services)
        signal.signal(signal.SIGTERM, previous)


def raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(signal.strsignal(signum))


def stop_services(services) -> None:
    for service in services:
        with suppress(KeyboardInterrupt):
            service.stop()
    for service in services:
        with suppress(KeyboardInterrupt):
            service.join(timeout=STOP_TIMEOUT_SECONDS)
        if service.is_alive():
            logger.warning(
                "%s did not stop within %.0f s; exiting anyway.", service.name, STOP_TIMEOUT_SECONDS
            )


class EmbeddedChannelLayer(InMemoryChannelLayer):
    """The in-memory channel layer, safe to send to from the worker and scheduler threads.

    Its queues belong to the server's event loop.  A task that publishes an event runs in another
    thread, where ``async_to_sync`` makes a loop of its own; waking the server's loop from there is
    not thread-safe (with uvloop the message is simply never noticed).  So sends made on any other
    loop are handed to the server's loop, the one its consumers receive on.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._home: asyncio.AbstractEventLoop | None = None

    async def _on_home_loop(self, method, *args):
        home, here = self._home, asyncio.get_running_loop()
        if home is None or home is here or home.is_closed() or not home.is_running():
            return await method(*args)
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(method(*args), home))

    async def receive(self, channel):
        self._home = asyncio.get_running_loop()
        return await super().receive(channel)

    async def group_add(self, group, channel):
        self._home = asyncio.get_running_loop()
        return await super().group_add(group, channel)

    async def send(self, channel, message):
        return await self._on_home_loop(super().send, channel, message)

    async def group_send(self, group, message):
        return await self._on_home_loop(super().group_send, group, message)
