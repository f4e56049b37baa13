"""TOTP secrets are sealed under the master key and survive a master-key rotation."""

from __future__ import annotations

import pytest

from accounts_totp import totp_now
from hotro.accounts.mfa import rewrap_mfa_secrets

pytestmark = pytest.mark.django_db


def test_totp_secret_is_sealed_and_rewrapped_after_rotation(owner_a):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from hotro.privacy.kek import get_kek

    secret = generate_totp_secret()
    totp = TOTP.activate(owner_a.user, secret)
    stored = Authenticator.objects.get(pk=totp.instance.pk).data["secret"]
    assert stored.startswith("hotro1:") and secret not in stored
    old_id = stored.split(":")[1]

    new_id = get_kek().rotate()
    assert rewrap_mfa_secrets() == 1
    assert rewrap_mfa_secrets() == 0  # idempotent
    authenticator = Authenticator.objects.get(pk=totp.instance.pk)
    assert authenticator.data["secret"].split(":")[1] == new_id != old_id
    assert TOTP(authenticator).validate_code(totp_now(secret))


def test_a_secret_stored_before_sealing_still_works_and_gets_sealed(owner_a):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    authenticator = Authenticator.objects.create(
        user=owner_a.user, type=Authenticator.Type.TOTP, data={"secret": secret}
    )
    assert TOTP(authenticator).validate_code(totp_now(secret))
    assert rewrap_mfa_secrets() == 1
    authenticator.refresh_from_db()
    assert authenticator.data["secret"].startswith("hotro1:")
