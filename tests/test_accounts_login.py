"""Sign-in with allauth: e-mail + password, rate limiting, logout by POST, TOTP, language."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from accounts_totp import totp_now

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-9"


@pytest.fixture(autouse=True)
def _empty_rate_limits():
    cache.clear()  # allauth counts failed logins in the cache
    yield
    cache.clear()


def _login(client, email, password):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_it_signs_in_with_email_and_password(client, owner_a):
    response = _login(client, "OWNER@alpha.test", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(owner_a.user.pk)


def test_it_hashes_passwords_with_argon2(owner_a):
    assert owner_a.user.password.startswith("argon2")


def test_it_refuses_a_wrong_password(client, owner_a):
    response = _login(client, "owner@alpha.test", "wrong-password-1")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_it_rate_limits_repeated_wrong_passwords(client, owner_a):
    for _ in range(5):
        assert _login(client, "owner@alpha.test", "wrong-password-1").status_code == 200
    # Even the right password is refused while the limit holds (5 failures per 5 minutes per login).
    response = _login(client, "owner@alpha.test", PASSWORD)
    assert response.status_code in (200, 429)
    assert "_auth_user_id" not in client.session
    assert (
        "Too many failed login attempts" in response.content.decode()
        or "Quá nhiều" in response.content.decode()
    )


def test_rate_limit_is_per_login_not_global(client, owner_a, owner_b):
    for _ in range(5):
        _login(client, "owner@alpha.test", "wrong-password-1")
    assert _login(client, "owner@beta.test", PASSWORD).status_code == 302


def test_logout_needs_a_post(client, owner_a):
    client.force_login(owner_a.user)
    response = client.get("/accounts/logout/")
    assert response.status_code == 200  # a confirmation page, still signed in
    assert "_auth_user_id" in client.session
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_totp_login_flow(client, owner_a):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(owner_a.user, secret)
    stored = Authenticator.objects.get(user=owner_a.user, type=Authenticator.Type.TOTP).data["secret"]
    assert secret not in stored  # sealed under the master key, not plaintext

    response = _login(client, "owner@alpha.test", PASSWORD)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/authenticate/")
    assert "_auth_user_id" not in client.session

    response = client.post(
        "/accounts/2fa/authenticate/", {"code": "000000" if totp_now(secret) != "000000" else "111111"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session

    response = client.post("/accounts/2fa/authenticate/", {"code": totp_now(secret)})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(owner_a.user.pk)


def test_it_renders_the_login_page_in_vietnamese(client, db):
    response = client.get("/accounts/login/", headers={"accept-language": "vi"})
    body = response.content.decode()
    assert response["Content-Language"] == "vi"
    assert '<html lang="vi">' in body
    assert "Đăng nhập" in body
    assert "Mật khẩu" in body
    assert "Sign In" not in body


def test_it_renders_the_login_page_in_english(client, db):
    response = client.get("/accounts/login/", headers={"accept-language": "en"})
    assert "Sign In" in response.content.decode()


def test_language_switcher_remembers_the_choice(client, owner_a):
    client.force_login(owner_a.user)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    owner_a.user.refresh_from_db()
    assert owner_a.user.language == "en"
    page = client.get("/accounts/password/change/", headers={"accept-language": "vi"})
    assert page["Content-Language"] == "en"


def test_language_switcher_is_on_the_login_page(client, db):
    body = client.get("/accounts/login/", headers={"accept-language": "vi"}).content.decode()
    assert 'action="/i18n/setlang/"' in body
    assert 'name="language" value="en"' in body


def test_login_page_loads_nothing_from_another_origin(client, db):
    body = client.get("/accounts/login/").content.decode()
    assert (
        "http://" not in body and "https://" not in body and 'src="//' not in body and 'href="//' not in body
    )
