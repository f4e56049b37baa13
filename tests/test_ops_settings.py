"""Settings read from the environment: production refuses insecure configurations, with sentences.

Settings are evaluated at import, so each case imports them in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.db import OperationalError

GOOD_SECRET = "k3J9-qP2vX8mZ4rT7yW1uB6nC0dF5gH2jL8sA3eR9tY4"
GOOD_MASTER_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # 32 bytes, base64

PRODUCTION_ENV = {
    "HOTRO_ENV": "production",
    "SECRET_KEY": GOOD_SECRET,
    "DATABASE_URL": "postgres://hotro:pw@db.internal:5432/hotro?sslmode=verify-full",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "HOTRO_MASTER_KEY": GOOD_MASTER_KEY,
    "ALLOWED_HOSTS": "support.example.com",
    "HOTRO_PUBLIC_URL": "https://support.example.com",
}

PROBE = """
import json
from hotro.config import settings as s
print(json.dumps({
    "engine": s.DATABASES["default"]["ENGINE"],
    "mailers": s.MAILERS,
    "has_email_backend": hasattr(s, "EMAIL_BACKEND"),
    "session_cookie_secure": getattr(s, "SESSION_COOKIE_SECURE", False),
    "csrf_trusted_origins": s.CSRF_TRUSTED_ORIGINS,
    "debug": s.DEBUG,
}))
"""


def load_settings(tmp_path, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "HOTRO_VAR_DIR": str(tmp_path / "var")}
    return subprocess.run(  # noqa: PLW1510 - the exit status is asserted
        [sys.executable, "-c", PROBE],
        env=base | env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def loaded(tmp_path, env: dict[str, str]) -> dict:
    result = load_settings(tmp_path, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_accepts_a_complete_production_configuration(tmp_path):
    values = loaded(tmp_path, PRODUCTION_ENV)
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["session_cookie_secure"] is True
    assert values["debug"] is False
    assert "https://support.example.com" in values["csrf_trusted_origins"]
    # Django 6.1's MAILERS replaces the deprecated EMAIL_BACKEND; production sends over SMTP.
    assert values["mailers"]["default"]["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert values["has_email_backend"] is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SECRET_KEY": None}, "Set SECRET_KEY"),
        ({"SECRET_KEY": "insecure-development-secret-do-not-use-in-production"}, "SECRET_KEY is a default"),
        ({"SECRET_KEY": "django-insecure-abcdefghijklmnopqrstuvwxyz0123456789"}, "SECRET_KEY is a default"),
        ({"SECRET_KEY": "short-secret"}, "SECRET_KEY is a default or too weak"),
        ({"DATABASE_URL": None}, "Set DATABASE_URL to a PostgreSQL address"),
        ({"DATABASE_URL": "sqlite:////tmp/x.sqlite3"}, "Set DATABASE_URL to a PostgreSQL address"),
        ({"DATABASE_URL": "postgres://hotro:pw@db.internal:5432/hotro"}, "DATABASE_URL must set sslmode"),
        ({"REDIS_URL": None}, "Set REDIS_URL"),
        ({"HOTRO_MASTER_KEY": None}, "Set HOTRO_MASTER_KEY"),
        ({"HOTRO_MASTER_KEY": None, "HOTRO_MASTER_KEY_FILE": "/nonexistent/master.key"}, "does not exist"),
        ({"HOTRO_PUBLIC_URL": "http://support.example.com"}, "https:// address"),
        ({"HOTRO_PUBLIC_URL": None}, "Set HOTRO_PUBLIC_URL"),
        ({"ALLOWED_HOSTS": None}, "Set ALLOWED_HOSTS"),
        ({"ALLOWED_HOSTS": "*"}, "not '*'"),
        ({"HOTRO_DEBUG": "true"}, "HOTRO_DEBUG must be off"),
    ],
)
def test_it_refuses_insecure_production_settings(tmp_path, change, message):
    env = {k: v for k, v in (PRODUCTION_ENV | change).items() if v is not None}
    result = load_settings(tmp_path, env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "hotro refuses to start in production" in result.stderr
    assert message in result.stderr


def test_it_lists_every_production_problem_at_once(tmp_path):
    result = load_settings(tmp_path, {"HOTRO_ENV": "production"})
    assert result.returncode != 0
    for message in (
        "Set SECRET_KEY",
        "Set DATABASE_URL",
        "Set REDIS_URL",
        "Set HOTRO_MASTER_KEY",
        "https://",
    ):
        assert message in result.stderr


def test_it_allows_a_local_database_without_sslmode_when_told(tmp_path):
    env = PRODUCTION_ENV | {"DATABASE_URL": "postgres://hotro@127.0.0.1:5432/hotro", "HOTRO_DB_LOCAL": "true"}
    assert loaded(tmp_path, env)["engine"] == "django.db.backends.postgresql"


def test_it_accepts_a_master_key_file_that_exists(tmp_path):
    key_file = tmp_path / "master.key"
    key_file.write_text(json.dumps({"active": "1", "keys": {"1": GOOD_MASTER_KEY}}))
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "HOTRO_MASTER_KEY"}
    assert loaded(tmp_path, env | {"HOTRO_MASTER_KEY_FILE": str(key_file)})["session_cookie_secure"] is True


def test_it_reads_the_smtp_url_into_mailers(tmp_path):
    env = PRODUCTION_ENV | {
        "HOTRO_SMTP_URL": "smtp+starttls://relay%40example.com:p%2Fss@mail.example.com:587"
    }
    options = loaded(tmp_path, env)["mailers"]["default"]["OPTIONS"]
    assert options["host"] == "mail.example.com"
    assert options["port"] == 587
    assert options["username"] == "relay@example.com"
    assert options["password"] == "p/ss"
    assert options["use_tls"] is True
    assert options["use_ssl"] is False


def test_it_refuses_a_malformed_smtp_url(tmp_path):
    result = load_settings(tmp_path, PRODUCTION_ENV | {"HOTRO_SMTP_URL": "mail.example.com:25"})
    assert result.returncode != 0
    assert "HOTRO_SMTP_URL must look like" in result.stderr


def test_it_refuses_an_unknown_environment_name(tmp_path):
    result = load_settings(tmp_path, {"HOTRO_ENV": "staging"})
    assert result.returncode != 0
    assert "HOTRO_ENV must be development, test or production, not 'staging'" in result.stderr


def test_it_runs_embedded_by_default(tmp_path):
    values = loaded(tmp_path, {})
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["mailers"]["default"]["BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    secret_file = tmp_path / "var" / "secret.key"
    assert secret_file.exists()
    assert secret_file.stat().st_mode & 0o077 == 0


# --- /healthz --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_reports_healthy_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_it_reports_unhealthy_when_the_database_fails(client, monkeypatch):
    from hotro.config import health

    class BrokenConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(health, "connection", BrokenConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
