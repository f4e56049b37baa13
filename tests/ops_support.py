"""Running hotro in a child process from tests: free loopback ports, `hotro up` with a clean
environment, collecting its output, and waiting for /healthz."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time

import httpx

STARTUP_SECONDS = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_env(var_dir) -> dict[str, str]:
    """A clean environment for a child ``hotro``: development mode, SQLite under ``var_dir``."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(var_dir),
        "HOTRO_VAR_DIR": str(var_dir),
        "HOTRO_ENV": "development",
        "PYTHONUNBUFFERED": "1",
    }


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


def start_hotro_up(env: dict, cwd) -> tuple[subprocess.Popen, Output]:
    """``python -m hotro up`` in its own process, its output collected as it comes."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hotro", "up"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, Output(process.stdout)


def kill_if_running(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


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


def run_django_script(code: str, env: dict, cwd) -> subprocess.CompletedProcess:
    """A Python snippet in a child process against the same database as the running ``hotro up``."""
    return subprocess.run(  # noqa: PLW1510 - callers assert the exit status
        [sys.executable, "-c", code],
        env=env | {"DJANGO_SETTINGS_MODULE": "hotro.config.settings"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
