"""What the browser tests share: headless Chromium, a hotro server in its own process on its own
committed database (loopback only), signing in on the login page, a page's network/CSP recorder,
and screenshots under test-results/."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from ops_support import free_port

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "PASSWORD",
    "RESULTS",
    "ROOT",
    "Recorder",
    "ServerProcess",
    "APP_ROLE",
    "as_owner",
    "browser",
    "database_url",
    "embedded_command",
    "free_port",
    "log_in",
    "migrate",
    "run_python",
    "server_env",
    "serving",
    "shot",
    "sign_in",
    "uvicorn_command",
]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "test-results"
CHROMIUM = os.environ.get("HOTRO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct-horse-battery-9"
APP_ROLE = os.environ.get("HOTRO_TEST_APP_ROLE", "hotro_test_app")  # the same role as conftest's


def database_url(tmp: Path, name: str = "browser") -> tuple[str, callable]:
    """A database of its own for the server process, and how to drop it afterwards."""
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        return f"sqlite:///{tmp / f'{name}.sqlite3'}", lambda: None
    import psycopg

    dbname = f"hotro_{name}_{secrets.token_hex(4)}"
    admin = dict(
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
        user=db.get("USER"),
        password=db.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')

    def drop():
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')

    auth = db.get("USER") or "postgres"
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{admin['host']}:{admin['port']}/{dbname}", drop


def server_env(tmp: Path, database: str, public_url: str, **extra: str) -> dict[str, str]:
    """The environment of a test server process: test settings, its own database, files and key."""
    return {
        **{k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "HOTRO_MASTER_KEY"}},
        "HOTRO_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "hotro.config.settings_test",
        "DATABASE_URL": database,
        "HOTRO_VAR_DIR": str(tmp),
        "HOTRO_MASTER_KEY_FILE": str(tmp / "master.key"),
        "HOTRO_FILE_ROOT": str(tmp / "files"),
        "HOTRO_TASK_BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
        "ALLOWED_HOSTS": "127.0.0.1",
        "HOTRO_PUBLIC_URL": public_url,
        "PYTHONPATH": str(ROOT / "src"),
        **extra,
    }


def migrate(env: dict, cwd: Path) -> None:
    """Migrate as the owner; on PostgreSQL with ``HOTRO_DB_APP_ROLE`` in ``env``, grant that role
    (``hotro migrate`` does both, as an operator runs it)."""
    subprocess.run(
        [sys.executable, "-m", "hotro", "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=cwd
    )


def as_owner(env: dict) -> dict:
    """The environment of operator/test code against a server's database: the owner, no app role."""
    return {k: v for k, v in env.items() if k != "HOTRO_DB_APP_ROLE"}


def run_python(code: str, env: dict, cwd: Path, *args: str) -> str:
    """Run a snippet in a child process against the server's database; what it printed."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, cwd=cwd, check=True, capture_output=True, text=True
    )
    return done.stdout


def uvicorn_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "hotro.config.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--lifespan",
        "off",
    ]


def embedded_command(serve_code: str) -> list[str]:
    return [sys.executable, "-c", serve_code]


class ServerProcess:
    """A hotro server on a loopback port in its own process, logging to server.log; it can be
    stopped and started again.  ``start`` returns once /healthz answers."""

    def __init__(self, command: list[str], tmp: Path, env: dict, port: int, name: str = "uvicorn"):
        self.command, self.tmp, self.env, self.port, self.name = command, tmp, env, port, name
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = tmp / "server.log"
        self.log = open(self.log_path, "a")  # noqa: SIM115 - closed in close()
        self.process = None

    def run_python(self, code: str, *args: str) -> str:
        """Test code against the server's database, as its owner (arranging rows, checking them)."""
        return run_python(code, as_owner(self.env), self.tmp, *args)

    def start(self) -> ServerProcess:
        self.process = subprocess.Popen(
            self.command, env=self.env, cwd=self.tmp, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start:\n" + self.log_path.read_text())
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def close(self) -> None:
        self.stop()
        self.log.close()


@contextlib.contextmanager
def serving(
    tmp: Path, setup: str, command=uvicorn_command, *, db="browser", sqlite=False, name="uvicorn", **env
):
    """A migrated database of its own (named after ``db``; a SQLite file always when ``sqlite``),
    ``setup`` run against it (its last printed line, as JSON, in ``server.info``), then the server
    serving on a free loopback port; stopped and the database dropped afterwards."""
    if sqlite:
        url, drop_database = f"sqlite:///{tmp / f'{db}.sqlite3'}", lambda: None
    else:
        url, drop_database = database_url(tmp, db)
    port = free_port()
    if url.startswith("postgres"):  # as production runs: an unprivileged role under Row-Level Security
        env.setdefault("HOTRO_DB_APP_ROLE", APP_ROLE)
    server = ServerProcess(
        command(port), tmp, server_env(tmp, url, f"http://127.0.0.1:{port}", **env), port, name
    )
    try:
        migrate(server.env, tmp)
        printed = server.run_python(setup).strip().splitlines()
        server.info = json.loads(printed[-1]) if printed else None
        server.start()
        yield server
    finally:
        server.close()
        drop_database()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Recorder:
    """Every request, WebSocket, console error and CSP complaint of a page."""

    def __init__(self, page):
        self.urls, self.sockets, self.csp, self.errors = [], [], [], []
        page.on("request", lambda r: self.urls.append(r.url))
        page.on("websocket", lambda ws: self.sockets.append(ws.url))
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _console(self, message):
        if "Content Security Policy" in message.text:
            self.csp.append(message.text)
        if message.type == "error":
            self.errors.append(message.text)

    def assert_same_origin(self, base: str):
        """Requests and sockets all go to ``base``; no CSP complaint."""
        ws_base = base.replace("http://", "ws://", 1)
        foreign = [u for u in self.urls if not (u.startswith(base + "/") or u.startswith("data:"))]
        foreign += [u for u in self.sockets if not u.startswith(ws_base + "/")]
        assert not foreign, f"requests to another origin: {foreign}"
        assert not self.csp, f"Content Security Policy violations: {self.csp}"

    def assert_only(self, *origins):
        """Requests go to ``origins`` only; no console error (CSP violations are errors)."""
        foreign = [
            u
            for u in self.urls
            if not u.startswith("data:") and not any(u.startswith(o + "/") for o in origins)
        ]
        assert not foreign, f"requests to other origins: {foreign}"
        assert not self.errors, f"console errors / CSP violations: {self.errors}"

    def foreign(self, *origins):
        """Requests and sockets to anything but ``origins`` (over http or ws)."""
        allowed = [o + "/" for o in origins] + [o.replace("http://", "ws://") + "/" for o in origins]
        return [
            u
            for u in self.urls + self.sockets
            if not any(u.startswith(a) for a in allowed) and not u.startswith(("data:", "blob:"))
        ]


def log_in(page, base_url: str, email: str, timeout: float | None = None) -> None:
    """Sign in on the login page and land in the demo workspace."""
    page.goto(f"{base_url}/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(f"{base_url}/w/demo/**", timeout=timeout)


def sign_in(browser, base_url: str, email: str, width: int, height: int, locale: str = "vi-VN"):
    """A new browser context signed in, its inbox page live, and the page's recorder."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
    page = context.new_page()
    recorder = Recorder(page)
    log_in(page, base_url, email)
    page.wait_for_selector("#live-status[data-state=live]")
    return context, page, recorder


def shot(page, name: str, full_page: bool = False, caret: str = "initial") -> None:
    RESULTS.mkdir(exist_ok=True)
    # caret="initial": Playwright's caret hiding injects a style element, which our CSP (rightly) refuses
    page.screenshot(path=str(RESULTS / f"{name}.png"), full_page=full_page, caret=caret)
