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

import contextlib  # noqa: E402
import functools  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
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


# --- the PostgreSQL pass runs as the application role (Row-Level Security on) ---------------------
# Production connects as an unprivileged role (HOTRO_DB_APP_ROLE / rls_setup); so does every test of
# the PostgreSQL pass.  The test database is created and migrated as the owner (the `postgres`
# superuser); then each test switches to the app role.  A test that must act as the owner (schema
# checks, dumps, role management) says so with @pytest.mark.db_owner.

APP_ROLE = os.environ.get("HOTRO_TEST_APP_ROLE", "hotro_test_app")
_SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src", "hotro") + os.sep
_TESTS = os.path.dirname(os.path.abspath(__file__)) + os.sep


_INERROR = 3  # psycopg.pq.TransactionStatus.INERROR: a failed transaction takes no more statements
_app_view = threading.local()


@contextlib.contextmanager
def as_the_application():
    """Test code that checks what the *application* sees (no scope, no bypass): RLS applies to it."""
    _app_view.on = True
    try:
        yield
    finally:
        _app_view.on = False


class _TestCodeSeesAll:
    """Execute wrapper: a query the *test's own code* makes (arranging rows, asserting on them)
    outside any scope runs with the system scope's bypass, as an operator command would; a query made
    by hotro's code gets no scope it did not open itself, exactly as in production.  The caller is
    the first frame outside Django and the database driver."""

    def __call__(self, execute, sql, params, many, context):
        from hotro.privacy.rls import current_scope

        conn = context["connection"]
        if (
            current_scope(conn.alias) is not None
            or sql.lstrip()[:9].upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))
            or conn.connection.info.transaction_status == _INERROR
            or getattr(_app_view, "on", False)
            or not _called_from_test_code()
        ):
            return execute(sql, params, many, context)
        with conn.connection.cursor() as cursor:  # the driver's cursor: no wrapper recursion
            cursor.execute("SELECT set_config('hotro.bypass_rls', 'on', false)")
        try:
            return execute(sql, params, many, context)
        finally:
            try:
                with conn.connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('hotro.bypass_rls', 'off', false)")
            except Exception:  # noqa: BLE001, S110 - an aborted transaction undoes the setting itself
                pass


def _called_from_test_code() -> bool:
    """True when the first frame outside Django/psycopg/pytest on the stack is in tests/."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(_SRC):
            return False
        if name.startswith(_TESTS):
            return True
        frame = frame.f_back
    return False


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from django.db import connection

    if connection.vendor == "postgresql":
        from hotro.privacy.rls import ensure_app_role

        with django_db_blocker.unblock():
            ensure_app_role(APP_ROLE)


@contextlib.contextmanager
def as_db_owner():
    """Test code acting for a moment as the database owner (a DBA's powers), then as before."""
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, session_user")
        current, session = cursor.fetchone()
        cursor.execute("RESET ROLE")
    try:
        yield
    finally:
        if current != session:
            with connection.cursor() as cursor:
                cursor.execute(f'SET ROLE "{current}"')


def _uses_database(request) -> bool:
    names = request.fixturenames
    return bool(
        request.node.get_closest_marker("django_db")
        or {"db", "transactional_db", "django_db_reset_sequences", "live_server"} & set(names)
    )


@pytest.fixture(autouse=True)
def _as_app_role(request, settings):
    """On PostgreSQL: every connection of the test runs as the application role (RLS applies)."""
    if not _uses_database(request) or not database_is_postgres():
        yield
        return
    if request.node.get_closest_marker("db_owner"):
        yield
        return
    from django.db import connections

    request.getfixturevalue("_django_db_helper")
    settings.HOTRO_DB_APP_ROLE = APP_ROLE  # new connections (threads, live servers) SET ROLE too
    for conn in connections.all(initialized_only=True):
        with conn.cursor() as cursor:
            cursor.execute(f'SET ROLE "{APP_ROLE}"')
    from hotro.privacy import keys

    keys.forget_cached_keys()
    wrapper = _TestCodeSeesAll()
    conns = list(connections.all(initialized_only=True))
    try:
        with contextlib.ExitStack() as stack:
            for conn in conns:
                stack.enter_context(conn.execute_wrapper(wrapper))
            yield
    finally:
        for conn in connections.all(initialized_only=True):
            if conn.connection is not None and not conn.needs_rollback:
                try:
                    with conn.cursor() as cursor:
                        cursor.execute("RESET ROLE")
                except Exception:  # noqa: BLE001 - a broken transaction resets on rollback anyway
                    pass
