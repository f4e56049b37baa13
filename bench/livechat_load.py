"""Live chat under load: visitor WebSockets held by ONE `hotro web` process, and the round trip of a
visitor message to an agent's browser channel (p50 / p99) at that load.

    .venv/bin/python bench/livechat_load.py [--connections 500] [--messages 100] [--max-seconds 180]

Everything runs on loopback with a scratch database.  The load generator is bounded (a fixed number
of connections and messages) and stops itself after ``--max-seconds`` whatever happens.  The
baseline is measured in the same run: the same round trip with no idle visitors connected.

Round trip = visitor sends ``{"type": "message"}`` on its socket → message stored (durably) →
``message.created`` arrives on the agent's workspace socket ``ws/w/<slug>/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent

SETUP = """
import json
import django
django.setup()
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from hotro.accounts.models import User
from hotro.connectors.livechat import create_livechat_inbox
from hotro.privacy.rls import system_scope
from hotro.tenancy.actions import do_create_workspace

workspace = do_create_workspace(
    slug="bench", name="Bench", owner_email="agent@bench.test", password="bench-pass-12345"
)
inbox = create_livechat_inbox(workspace, "Bench chat", ["*"], prechat={"enabled": False})
with system_scope():
    user = User.objects.get(email="agent@bench.test")
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[0]
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
print(json.dumps({"public_key": inbox.public_key, "session": session.session_key,
                  "cookie": settings.SESSION_COOKIE_NAME}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class Bench:
    def __init__(self, base: str, info: dict):
        self.base, self.info = base, info
        self.ws_base = base.replace("http://", "ws://")
        self.headers = {"Origin": base}
        self.waiting: dict[str, asyncio.Future] = {}

    async def new_visitor(self, client: httpx.AsyncClient) -> str:
        r = await client.post(f"/widget/{self.info['public_key']}/session", json={"lang": "vi"})
        r.raise_for_status()
        return r.json()["token"]

    async def open_visitor(self, token: str):
        ws = await websockets.connect(
            f"{self.ws_base}/ws/widget/{self.info['public_key']}/",
            additional_headers=self.headers,
            open_timeout=30,
        )
        await ws.send(json.dumps({"type": "hello", "token": token, "resume_from": None}))
        while json.loads(await ws.recv()).get("type") != "ready":
            pass
        return ws

    async def agent_listener(self, ready: asyncio.Event):
        cookie = f"{self.info['cookie']}={self.info['session']}"
        async with websockets.connect(
            f"{self.ws_base}/ws/w/bench/", additional_headers={**self.headers, "Cookie": cookie}
        ) as ws:
            await ws.send(json.dumps({"resume_from": None}))
            self.agent_connected = True
            ready.set()
            async for raw in ws:
                event = json.loads(raw).get("event") or {}
                if event.get("type") == "message.created" and event.get("direction") == "in":
                    future = self.waiting.setdefault(
                        event.get("message_id"), asyncio.get_running_loop().create_future()
                    )
                    if not future.done():
                        future.set_result(time.perf_counter())

    async def round_trips(self, client: httpx.AsyncClient, count: int) -> list[float]:
        """``count`` messages from fresh measuring visitors (5 each, under the per-visitor limit)."""
        samples: list[float] = []
        ws = None
        for i in range(count):
            if i % 5 == 0:
                if ws is not None:
                    await ws.close()
                ws = await self.open_visitor(await self.new_visitor(client))
            client_id = str(uuid.uuid4())
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "client_id": client_id, "text": f"bench {i}"}))
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "ack" and frame.get("client_id") == client_id:
                    break
                if frame.get("type") == "error":
                    raise RuntimeError(frame.get("message"))
            message_id = frame["message"]["id"]
            future = self.waiting.setdefault(message_id, asyncio.get_running_loop().create_future())
            arrived = await asyncio.wait_for(future, timeout=30)
            del self.waiting[message_id]
            samples.append((arrived - started) * 1000)
        if ws is not None:
            await ws.close()
        return samples


async def run(base: str, info: dict, server_pid: int, connections: int, messages: int) -> dict:
    bench = Bench(base, info)
    ready = asyncio.Event()
    listener = asyncio.create_task(bench.agent_listener(ready))
    await asyncio.wait_for(ready.wait(), 30)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        baseline = await bench.round_trips(client, messages)
        rss_idle = rss_mb(server_pid)
        tokens = []
        sem = asyncio.Semaphore(50)

        async def token():
            async with sem:
                return await bench.new_visitor(client)

        tokens = await asyncio.gather(*(token() for _ in range(connections)))
        started = time.perf_counter()

        async def hold(t):
            async with sem:
                return await bench.open_visitor(t)

        held = await asyncio.gather(*(hold(t) for t in tokens))
        connect_seconds = time.perf_counter() - started
        loaded = await bench.round_trips(client, messages)
        rss_loaded = rss_mb(server_pid)
        open_now = sum(1 for ws in held if ws.state.name == "OPEN")
        await asyncio.gather(*(ws.close() for ws in held))
    listener.cancel()
    return {
        "baseline": baseline,
        "loaded": loaded,
        "held": open_now,
        "connect_seconds": connect_seconds,
        "rss_idle": rss_idle,
        "rss_loaded": rss_loaded,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--max-seconds", type=float, default=180)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="hotro-livechat-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "HOTRO_MASTER_KEY", "DATABASE_URL"}},
        "HOTRO_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "hotro.config.settings",
        "DATABASE_URL": f"sqlite:///{scratch / 'bench.sqlite3'}",
        "HOTRO_VAR_DIR": str(scratch),
        "HOTRO_MASTER_KEY_FILE": str(scratch / "master.key"),
        "HOTRO_TASK_BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
        "ALLOWED_HOSTS": "127.0.0.1",
        "HOTRO_PUBLIC_URL": base,
        "HOTRO_WIDGET_CONNECTS_PER_MINUTE": str(10 * (args.connections + args.messages) + 100),
        "PYTHONPATH": str(ROOT / "src"),
    }
    python = sys.executable
    subprocess.run([python, "-m", "hotro", "migrate"], env=env, check=True, cwd=scratch, capture_output=True)
    out = subprocess.run(
        [python, "-c", SETUP], env=env, check=True, cwd=scratch, capture_output=True, text=True
    )
    info = json.loads(out.stdout.strip().splitlines()[-1])
    log = open(scratch / "web.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [python, "-m", "hotro", "web", "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=scratch,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                print((scratch / "web.log").read_text())
                return 1
            time.sleep(0.2)
        result = asyncio.run(
            asyncio.wait_for(run(base, info, server.pid, args.connections, args.messages), args.max_seconds)
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    b, loaded = result["baseline"], result["loaded"]
    print(f"one `hotro web` process (uvicorn, SQLite, in-process channel layer), loopback, {sys.platform}")
    print(
        f"visitor sockets held open at once:   {result['held']} of {args.connections} "
        f"(opened in {result['connect_seconds']:.1f} s)"
    )
    print(
        f"server memory (RSS):                 {result['rss_idle']:.0f} MB idle -> "
        f"{result['rss_loaded']:.0f} MB loaded"
    )
    print(f"{'round trip visitor -> agent (ms)':36} {'p50':>8} {'p99':>8} {'mean':>8}  n")
    for label, values in (
        ("baseline: 1 visitor connected", b),
        (f"with {result['held']} visitors held", loaded),
    ):
        print(
            f"{label:36} {percentile(values, 50):8.1f} {percentile(values, 99):8.1f} "
            f"{statistics.fmean(values):8.1f}  {len(values)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
