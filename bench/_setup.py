"""Shared set-up for the benchmarks: a private var dir, Django configured, and a null cipher.

The null cipher exists only here, for measuring: it swaps AES-GCM and the blind-index HMAC for
copies that do no cryptography but keep the same byte layout and call pattern, so "encryption off"
runs exactly the same application code.  Nothing in ``src/`` can switch encryption off.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def configure(database_url: str | None = None) -> Path:
    """Point hotro at a scratch var dir (and ``database_url``), then ``django.setup()``."""
    scratch = Path(tempfile.mkdtemp(prefix="hotro-bench-"))
    os.environ.setdefault("HOTRO_ENV", "test")
    os.environ["HOTRO_VAR_DIR"] = str(scratch)
    os.environ["HOTRO_MASTER_KEY_FILE"] = str(scratch / "master.key")
    os.environ.pop("HOTRO_MASTER_KEY", None)
    os.environ["HOTRO_TASK_BACKEND"] = "django.tasks.backends.immediate.ImmediateBackend"
    os.environ.setdefault("HOTRO_LOG_LEVEL", "WARNING")
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "hotro.config.settings"
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    return scratch


@contextlib.contextmanager
def null_cipher():
    """Encryption and blind indexes replaced by non-cryptographic stand-ins of the same shape."""
    from hotro.privacy import crypto

    saved = crypto.seal, crypto.open_sealed, crypto.blind_hmac

    def seal(key, key_version, plaintext, aad):
        return crypto.HEADER.pack(crypto.MAGIC, key_version) + bytes(12) + crypto.pad(plaintext) + bytes(16)

    def open_sealed(key, ciphertext, aad):
        return crypto.unpad(ciphertext[crypto.HEADER.size + 12 : -16])

    def blind_hmac(key, value, nbytes):
        return hash(value).to_bytes(8, "big", signed=True)[:nbytes]

    crypto.seal, crypto.open_sealed, crypto.blind_hmac = seal, open_sealed, blind_hmac
    try:
        yield
    finally:
        crypto.seal, crypto.open_sealed, crypto.blind_hmac = saved


def percentile(values, p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values) -> float:
    return statistics.median(values)
