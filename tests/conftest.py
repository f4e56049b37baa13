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

    return do_create_workspace(slug=slug, name=slug.title(), owner_email=owner_email, password="correct-horse-9")


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
