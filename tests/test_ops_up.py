"""`make up` end to end: `hotro up` migrates, creates the demo owner, serves, runs tasks, stops on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

STARTUP_SECONDS = 90


def embedded_env(var_dir) -> dict[str, str]:
    """A clean environment for a child ``hotro``: development mode, SQLite under ``var_dir``."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(var_dir),
        "HOTRO_VAR_DIR": str(var_dir),
        "HOTRO_ENV": "development",
        "PYTHONUNBUFFERED": "1",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Output:
    """Collects a child's output lines from a background thread (so its pipe never fills up)."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if match := re.search(pattern, self.text):
                return match
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not printed within {timeout} s:\n{self.text}")


def wait_until_healthy(base_url: str, process: subprocess.Popen, output: Output) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"hotro up exited early:\n{output.text}"
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"/healthz did not answer 200 within {STARTUP_SECONDS} s:\n{output.text}")


def log_in(base_url: str, email: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        form = client.get("/accounts/login/")
        assert form.status_code == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        return client.post(
            "/accounts/login/",
            data={"csrfmiddlewaretoken": token, "login": email, "password": password},
            headers={"Referer": f"{base_url}/accounts/login/"},
        )


ENQUEUE_HEARTBEAT = """
import django, sys, time
django.setup()
from crontask.tasks import heartbeat
from django_tasks_db.models import DBTaskResult
result = heartbeat.enqueue()
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    status = DBTaskResult.objects.get(pk=result.id).status
    if status in ("SUCCESSFUL", "FAILED"):
        break
    time.sleep(0.1)
print(status)
"""


@pytest.mark.slow
def test_hotro_up_serves_runs_tasks_and_stops_cleanly_on_ctrl_c(tmp_path):
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = embedded_env(tmp_path) | {"PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "hotro", "up"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Output(process.stdout)
    try:
        wait_until_healthy(base_url, process, output)
        email = output.wait_for(r"e-mail:\s+(\S+)", 5).group(1)
        password = output.wait_for(r"password:\s+(\S+)", 5).group(1)
        assert email == "owner@demo.hotro.local"
        assert f"Sign in at {base_url}/accounts/login/" in output.text

        # Query strings carry personal data: the access log keeps the path only.
        httpx.get(f"{base_url}/healthz?email=lan.nguyen%40example.vn&q=ho%C3%A0n+ti%E1%BB%81n", timeout=5)
        output.wait_for(r"GET /healthz\?… HTTP", 5)
        assert "lan.nguyen" not in output.text and "example.vn" not in output.text

        refused = log_in(base_url, email, password + "x")
        assert refused.status_code == 200  # the form again, with an error
        assert "sessionid" not in refused.cookies
        accepted = log_in(base_url, email, password)
        assert accepted.status_code == 302
        assert "/accounts/login/" not in accepted.headers["location"]
        assert "sessionid" in accepted.cookies

        # The embedded task worker picks up what another process enqueues in the same database.
        enqueue = subprocess.run(  # noqa: PLW1510 - the exit status is asserted
            [sys.executable, "-c", ENQUEUE_HEARTBEAT],
            env=env | {"DJANGO_SETTINGS_MODULE": "hotro.config.settings"},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert enqueue.returncode == 0, enqueue.stderr
        assert enqueue.stdout.strip() == "SUCCESSFUL", output.text

        assert "Scheduler started" in output.text

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0, output.text
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output.wait_for(r"hotro stopped\.", 5)
    assert "Traceback" not in output.text

    # A second start reuses the database and the demo owner, and never prints a password again.
    second = subprocess.Popen(
        [sys.executable, "-m", "hotro", "up"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    again = Output(second.stdout)
    try:
        wait_until_healthy(base_url, second, again)
        assert "password:" not in again.text
        assert f"as {email}" in again.text
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=15) == 0, again.text
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
