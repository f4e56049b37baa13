"""Production shape: several ``hotro web`` processes side by side share Redis (channel layer, cache).

Two real ``hotro web`` processes (uvicorn) serve the pytest PostgreSQL test database (committed data)
with ``REDIS_URL`` set, which selects the channels_redis pub/sub layer and the Redis cache.  A browser
socket on process 1 sees what an agent does through process 2; the per-token API rate limit counts
requests across both processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from conftest import TEST_REDIS_URL
from hotro.api.tokens import create_token
from hotro.realtime.models import RealtimeEvent
from inbox_helpers import make_inbox, receive

websockets = pytest.importorskip("websockets")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

SRC = Path(__file__).resolve().parent.parent / "src"
REDIS_DB = 9  # a database number of its own on the shared test Redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_url() -> str:
    parts = urlsplit(TEST_REDIS_URL)
    return f"redis://{parts.hostname or '127.0.0.1'}:{parts.port or 6379}/{REDIS_DB}"


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] or "postgres"
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WebProcesses:
    """``hotro web`` processes on loopback ports, all terminated at the end."""

    def __init__(self, tmp: Path, **extra_env: str):
        self.tmp = tmp
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "HOTRO_MASTER_KEY"},
            "HOTRO_ENV": "test",
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url(),
            "HOTRO_REDIS_PREFIX": f"hotro-test-{secrets.token_hex(4)}",
            "HOTRO_TASK_BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
            "HOTRO_LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "127.0.0.1",
            "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
            **extra_env,
        }
        self.procs: list[tuple[subprocess.Popen, Path]] = []
        self.urls: list[str] = []

    def start(self, count: int) -> list[str]:
        for n in range(count):
            port = free_port()
            log = self.tmp / f"web-{n}.log"
            with log.open("w") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "hotro", "web", "--host", "127.0.0.1", "--port", str(port)]
                    + ["--log-level", "warning"],
                    env=self.env,
                    cwd=self.tmp,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            self.procs.append((proc, log))
            self.urls.append(f"http://127.0.0.1:{port}")
        for url, (proc, log) in zip(self.urls, self.procs, strict=True):
            deadline = time.monotonic() + 40
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"hotro web did not start:\n{self.logs()}")
                time.sleep(0.2)
        return self.urls

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for _, log in self.procs)

    def stop(self) -> None:
        for proc, _ in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc, _ in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def web(tmp_path):
    started: list[WebProcesses] = []

    def start(count: int = 2, **extra_env: str) -> WebProcesses:
        processes = WebProcesses(tmp_path, **extra_env)
        started.append(processes)
        processes.start(count)
        return processes

    yield start
    for processes in started:
        processes.stop()


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def latest_event_id(workspace) -> int:
    return (
        RealtimeEvent.objects.filter(workspace=workspace).order_by("-id").values_list("id", flat=True).first()
        or 0
    )


async def next_event(socket_, event_type: str, timeout: float = 10) -> dict:
    """The next frame carrying an event of ``event_type`` (other events are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {event_type} event within {timeout} s")
        frame = json.loads(await asyncio.wait_for(socket_.recv(), remaining))
        if frame.get("event", {}).get("type") == event_type:
            return frame


def test_an_action_through_one_web_process_reaches_sockets_of_every_web_process(owner_a, ws_a, ws_b, web):
    conversation = receive(make_inbox(ws_a), "redis-1").conversation
    other = receive(make_inbox(ws_b), "redis-b", sender="b-cust").conversation
    _, token = create_token(ws_a, "ops test")
    _, token_b = create_token(ws_b, "ops test b")
    cookie = session_cookie(owner_a.user)
    start = latest_event_id(ws_a)
    processes = web(2)
    first, second = processes.urls

    async def scenario():
        sockets = []
        for url in (first, second):
            ws_url = url.replace("http://", "ws://") + "/ws/w/alpha/"
            sockets.append(
                await websockets.connect(ws_url, additional_headers={"Cookie": cookie, "Origin": url})
            )
        try:
            for socket_ in sockets:
                await socket_.send(json.dumps({"resume_from": start}))
            async with httpx.AsyncClient(timeout=10) as http:

                async def note(base, ref, text, bearer=token):
                    response = await http.post(
                        f"{base}/api/v1/conversations/{ref}/notes",
                        json={"text": text},
                        headers={"Authorization": f"Bearer {bearer}"},
                    )
                    assert response.status_code == 201, response.text
                    return response.json()["id"]

                # the first note may reach the sockets by replay or live; either way both are ready after it
                first_note = await note(second, conversation.number, "Ghi chú thứ nhất")
                for socket_ in sockets:
                    frame = await next_event(socket_, "message.created")
                    assert frame["event"]["message_id"] == first_note
                # from now on only the channel layer can carry events: each process's replay is over
                await note(second, other.number, "Không thuộc alpha", bearer=token_b)
                live_note = await note(second, conversation.number, "Ghi chú thứ hai")
                for socket_ in sockets:
                    frame = await next_event(socket_, "message.created")
                    assert frame["event"]["message_id"] == live_note  # beta's note never arrives
                    assert frame["event"]["conversation_id"] == str(conversation.pk)
                    assert "text" not in frame["event"]
        finally:
            for socket_ in sockets:
                await socket_.close()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 60))
    except BaseException:
        print(processes.logs())
        raise


def test_the_api_rate_limit_counts_requests_on_every_web_process(ws_a, web):
    _, token = create_token(ws_a, "rate test")
    window = 3600  # HOTRO_API_RATE "3/h": a fixed window of an hour
    if window - time.time() % window < 20:  # do not straddle the window's end
        time.sleep(window - time.time() % window + 1)
    processes = web(2, HOTRO_API_RATE="3/h")
    first, second = processes.urls
    headers = {"Authorization": f"Bearer {token}"}
    statuses = [
        httpx.get(f"{base}/api/v1/conversations", headers=headers, timeout=10).status_code
        for base in (first, second, first, second)
    ]
    # each process alone has seen two requests; together they have seen four: the fourth is refused
    assert statuses == [200, 200, 200, 429], processes.logs()
