"""Shared fixtures.  Every test module gets two workspaces so that cross-tenant leaks show up."""

from __future__ import annotations

import base64
import os
import tempfile

# Settings are read at import: give the test run its own key material and scratch space.
_SCRATCH = tempfile.mkdtemp(prefix="hotro-test-")
os.environ.setdefault("HOTRO_ENV", "test")
os.environ.setdefault("HOTRO_VAR_DIR", _SCRATCH)
os.environ.setdefault("HOTRO_MASTER_KEY_FILE", os.path.join(_SCRATCH, "master.key"))
os.environ.setdefault("HOTRO_TASK_BACKEND", "django.tasks.backends.immediate.ImmediateBackend")
os.environ.pop("HOTRO_MASTER_KEY", None)

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_key_caches():
    from hotro.privacy import kek, keys

    keys.forget_cached_keys()
    kek.reset_kek_cache()
    yield
    keys.forget_cached_keys()


def make_workspace(slug: str, owner_email: str):
    from hotro.tenancy.actions import do_create_workspace

    return do_create_workspace(
        slug=slug, name=slug.title(), owner_email=owner_email, password="correct-horse-9"
    )


@pytest.fixture
def ws_a(db):
    return make_workspace("alpha", "owner@alpha.test")


@pytest.fixture
def ws_b(db):
    return make_workspace("beta", "owner@beta.test")


@pytest.fixture
def owner_a(ws_a):
    from hotro.tenancy.models import Membership

    return Membership.objects.select_related("user", "workspace").get(workspace=ws_a, role="owner")


@pytest.fixture
def owner_b(ws_b):
    from hotro.tenancy.models import Membership

    return Membership.objects.select_related("user", "workspace").get(workspace=ws_b, role="owner")


@pytest.fixture
def master_key_b64():
    return base64.b64encode(os.urandom(32)).decode()


# --- ops: services a test needs (markers postgres / redis / browser) -----------------------------
# A test whose service is unavailable is skipped, unless HOTRO_REQUIRE_SERVICES=1 (set by .ci/run),
# in which case it fails: CI must not go green by skipping.  `postgres` tests on a SQLite run are
# not "missing a service": they run in the PostgreSQL pass of `make test`.

import functools  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

CHROMIUM_PATH = os.environ.get("HOTRO_CHROMIUM", "/usr/bin/chromium")
TEST_REDIS_URL = os.environ.get("HOTRO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def services_required() -> bool:
    return os.environ.get("HOTRO_REQUIRE_SERVICES", "") in {"1", "true", "yes"}


def database_is_postgres() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _tcp_problem(host: str, port: int) -> str | None:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        return f"cannot connect to {host}:{port} ({exc})"
    return None


@functools.cache
def postgres_problem() -> str | None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return _tcp_problem(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))


@functools.cache
def redis_problem() -> str | None:
    parts = urlsplit(TEST_REDIS_URL)
    problem = _tcp_problem(parts.hostname or "127.0.0.1", parts.port or 6379)
    if problem:
        return f"Redis: {problem}"
    import redis

    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at {TEST_REDIS_URL} does not answer PING ({exc})"
    return None


@functools.cache
def browser_problem() -> str | None:
    if not (os.path.exists(CHROMIUM_PATH) or shutil.which(CHROMIUM_PATH)):
        return f"Chromium is not installed at {CHROMIUM_PATH} (apt-get install chromium; `make test` does it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"Playwright for Python is not installed ({exc}); run `make install`"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    problems = []
    if item.get_closest_marker("postgres"):
        if not database_is_postgres():
            pytest.skip("PostgreSQL-only test: runs in the PostgreSQL pass (DATABASE_URL=postgres://...)")
        if problem := postgres_problem():
            problems.append(f"PostgreSQL: {problem}")
    if item.get_closest_marker("redis") and (problem := redis_problem()):
        problems.append(problem)
    if item.get_closest_marker("browser") and (problem := browser_problem()):
        problems.append(problem)
    if not problems:
        return
    message = "; ".join(problems)
    if services_required():
        pytest.fail(f"Required service unavailable (HOTRO_REQUIRE_SERVICES=1): {message}", pytrace=False)
    pytest.skip(f"service unavailable: {message}")
