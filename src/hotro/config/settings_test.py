"""Settings for the test suite (pytest's DJANGO_SETTINGS_MODULE).

pytest-django imports settings before any conftest.py runs, so the test environment is set here:
its own scratch directory, master key file and immediate task backend, never ./var.
"""

import os
import tempfile

from django.contrib.auth.hashers import Argon2PasswordHasher

_SCRATCH = tempfile.mkdtemp(prefix="hotro-test-")
os.environ.setdefault("HOTRO_ENV", "test")
os.environ.setdefault("HOTRO_VAR_DIR", _SCRATCH)
os.environ.setdefault("HOTRO_MASTER_KEY_FILE", os.path.join(os.environ["HOTRO_VAR_DIR"], "master.key"))
os.environ.setdefault("HOTRO_TASK_BACKEND", "django.tasks.backends.immediate.ImmediateBackend")
os.environ.pop("HOTRO_MASTER_KEY", None)

from hotro.config.settings import *  # noqa: E402, F403

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - WhiteNoise warns when it is missing


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 (same algorithm and format as production) with tiny costs: fixtures hash many passwords."""

    time_cost = 1
    memory_cost = 64
    parallelism = 1


PASSWORD_HASHERS = ["hotro.config.settings_test.CheapArgon2PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
