"""Secrets of allauth's MFA authenticators (TOTP secret, recovery-code seed), sealed at rest.

allauth stores them through ``MFAAdapter.encrypt``/``decrypt`` (which by default store plaintext).
hotro seals each with AES-256-GCM under the master key (``hotro.privacy.kek``) as
``hotro1:<kek id>:<base64 nonce+ciphertext>``.  After a master-key rotation, ``rewrap_mfa_secrets``
re-seals them under the active key so older master keys can be retired.
"""

from __future__ import annotations

import base64

from allauth.mfa.adapter import DefaultMFAAdapter

PREFIX = "hotro1"
CONTEXT = b"hotro|allauth.mfa|secret"
SEALED_FIELDS = ("secret", "seed")


def seal_secret(text: str) -> str:
    from hotro.privacy.kek import get_kek

    kek_id, wrapped = get_kek().wrap(text.encode(), CONTEXT)
    return f"{PREFIX}:{kek_id}:{base64.b64encode(wrapped).decode()}"


def open_secret(value: str) -> str:
    from hotro.privacy.kek import get_kek

    prefix, kek_id, payload = value.split(":", 2)
    if prefix != PREFIX:
        raise ValueError("Not a sealed MFA secret.")
    return get_kek().unwrap(kek_id, base64.b64decode(payload), CONTEXT).decode()


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return seal_secret(text)

    def decrypt(self, encrypted_text: str) -> str:
        if not encrypted_text.startswith(PREFIX + ":"):
            return encrypted_text  # written before sealing was enabled; re-sealed by rewrap_mfa_secrets
        return open_secret(encrypted_text)


def rewrap_mfa_secrets() -> int:
    """Re-seal every authenticator secret under the active master key; returns how many changed."""
    from allauth.mfa.models import Authenticator

    from hotro.privacy.kek import get_kek

    active = get_kek().active_id
    changed = 0
    for authenticator in Authenticator.objects.filter(
        type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES]
    ):
        data = dict(authenticator.data)
        dirty = False
        for field in SEALED_FIELDS:
            value = data.get(field)
            if not isinstance(value, str):
                continue
            if value.startswith(PREFIX + ":") and value.split(":", 2)[1] == active:
                continue
            plain = open_secret(value) if value.startswith(PREFIX + ":") else value
            data[field] = seal_secret(plain)
            dirty = True
        if dirty:
            authenticator.data = data
            authenticator.save(update_fields=["data"])
            changed += 1
    return changed
