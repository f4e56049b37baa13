"""The production-mode stack (ops/production_stack.py) for tests: PostgreSQL with the RLS role, Redis,
two web processes behind nginx on https, two workers with heartbeats, a scheduler."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import httpx
import pytest

from conftest import postgres_problem, redis_problem, services_required

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "ops"))

from production_stack import ProductionStack  # noqa: E402

__all__ = ["ProductionStack", "StackClient", "production_stack", "stack_problem"]


def stack_problem() -> str | None:
    from django.conf import settings

    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return "the production stack runs in the PostgreSQL pass"
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        return "nginx is not installed (apt-get install nginx; `make test` does it)"
    return postgres_problem() or redis_problem()


def require_stack() -> None:
    """Skip on SQLite runs; fail (never skip) under HOTRO_REQUIRE_SERVICES when a part is missing."""
    from django.conf import settings

    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("PostgreSQL-only: the production stack runs in the PostgreSQL pass")
    problem = stack_problem()
    if problem:
        if services_required():
            pytest.fail(f"Required service unavailable (HOTRO_REQUIRE_SERVICES=1): {problem}", pytrace=False)
        pytest.skip(problem)


class StackClient(httpx.Client):
    """An https client for the stack (its throw-away CA), with the demo workspace's API token."""

    def __init__(self, stack: ProductionStack, **kwargs):
        super().__init__(
            base_url=stack.url,
            verify=stack.tls(),
            headers={"Authorization": f"Bearer {stack.token}", "Accept-Language": "en"},
            timeout=30,
            **kwargs,
        )


def make_stack(**kwargs) -> ProductionStack:
    from django.conf import settings

    db = settings.DATABASES["default"]
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    admin = f"postgres://{db.get('USER') or 'postgres'}@{host}:{port}/postgres"
    return ProductionStack(admin_url=admin, **kwargs)


@pytest.fixture(scope="module")
def production_stack(tmp_path_factory):
    require_stack()
    stack = make_stack(
        root=tmp_path_factory.mktemp("prodstack"),
        allow_private_webhooks=True,
        extra_env={"HOTRO_API_RATE": "100000/m"},  # the fuzzer is one busy integration
    )
    stack.up()
    try:
        yield stack
    finally:
        stack.down()
