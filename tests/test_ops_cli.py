"""The ``hotro`` command line."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from hotro.cli import DEMO_OWNER_EMAIL, PASSWORD_ALPHABET, generate_password, main
from ops_support import embedded_env


def run_hotro(var_dir, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: PLW1510 - the exit status is asserted
        [sys.executable, "-m", "hotro", *args],
        env=embedded_env(var_dir),
        cwd=var_dir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


CHECK_OWNER = """
import json, sys, django
django.setup()
from django.contrib.auth import authenticate
from hotro.tenancy.models import Membership
m = Membership.objects.select_related("user", "workspace").get(workspace__slug=sys.argv[1])
print(json.dumps({"name": m.workspace.name, "role": m.role, "email": m.user.email,
                  "login_ok": authenticate(username=m.user.email, password=sys.argv[2]) is not None}))
"""


def test_it_creates_a_workspace_in_a_fresh_database(tmp_path):
    migrate = run_hotro(tmp_path, "migrate", "--verbosity", "0")
    assert migrate.returncode == 0, migrate.stderr
    created = run_hotro(
        tmp_path, "createworkspace", "acme", "--owner", "Boss@Acme.test", "--name", "Acme Ltd"
    )
    assert created.returncode == 0, created.stderr
    assert "Created workspace 'acme' (Acme Ltd) owned by boss@acme.test." in created.stdout
    password = re.search(r"Password for boss@acme\.test: (\S+)", created.stdout).group(1)

    check = subprocess.run(  # noqa: PLW1510 - the exit status is asserted
        [sys.executable, "-c", CHECK_OWNER, "acme", password],
        env=embedded_env(tmp_path) | {"DJANGO_SETTINGS_MODULE": "hotro.config.settings"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout) == {
        "name": "Acme Ltd",
        "role": "owner",
        "email": "boss@acme.test",
        "login_ok": True,
    }
    assert (tmp_path / "hotro.sqlite3").exists()

    again = run_hotro(tmp_path, "createworkspace", "acme", "--owner", "other@acme.test")
    assert again.returncode == 1
    assert "A workspace 'acme' already exists" in again.stderr
    assert "Traceback" not in again.stderr


def test_it_explains_bad_production_settings_without_a_traceback(tmp_path):
    env = embedded_env(tmp_path) | {"HOTRO_ENV": "production"}
    result = subprocess.run(  # noqa: PLW1510 - the exit status is asserted
        [sys.executable, "-m", "hotro", "migrate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.startswith("hotro cannot start: hotro refuses to start in production")
    assert "Traceback" not in result.stderr


def test_it_lists_its_commands():
    result = subprocess.run(  # noqa: PLW1510 - the exit status is asserted
        [sys.executable, "-m", "hotro", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for command in (
        "up",
        "web",
        "worker",
        "scheduler",
        "migrate",
        "createworkspace",
        "createtoken",
        "keys",
        "audit",
    ):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.MULTILINE), command


def test_it_generates_passwords_that_are_easy_to_copy():
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        assert len(password) == 20
        assert set(password) <= set(PASSWORD_ALPHABET)


# --- in-process: run on SQLite and PostgreSQL alike ------------------------------------------------


@pytest.mark.django_db
def test_it_keeps_the_password_of_an_existing_user(capsys, owner_a):
    assert main(["createworkspace", "second", "--owner", owner_a.user.email]) == 0
    out = capsys.readouterr().out
    assert "Created workspace 'second'" in out
    assert "Password" not in out
    owner_a.user.refresh_from_db()
    assert owner_a.user.check_password("correct-horse-9")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["createworkspace", "Not A Slug", "--owner", "x@example.test"], "slug"),
        (["createworkspace", "fine", "--owner", "not-an-email"], "Enter a valid email address."),
        (["createtoken", "missing"], "There is no workspace 'missing'"),
        (["keys", "reencrypt", "missing"], "There is no workspace 'missing'"),
    ],
)
def test_it_refuses_bad_arguments_with_a_sentence(capsys, args, message):
    assert main(args) == 1
    assert message in capsys.readouterr().err


@pytest.mark.django_db
def test_it_prints_a_working_api_token_once(capsys, ws_a):
    from hotro.api.tokens import authenticate

    assert main(["createtoken", ws_a.slug, "--name", "ci"]) == 0
    out = capsys.readouterr().out
    plaintext = out.splitlines()[1]
    token = authenticate(plaintext)
    assert token is not None
    assert token.workspace_id == ws_a.pk
    assert token.name == "ci"


@pytest.mark.django_db
def test_it_verifies_the_audit_log(capsys, ws_a):
    from hotro.privacy.models import AuditEvent

    assert main(["audit", "verify", ws_a.slug]) == 0
    assert "The audit log of workspace 'alpha' is intact." in capsys.readouterr().out
    assert main(["audit", "verify"]) == 0
    assert "all workspaces" in capsys.readouterr().out
    assert AuditEvent.objects.model is AuditEvent  # the privacy app's model is wired in


def test_the_demo_owner_address_is_not_deliverable():
    # .local is reserved (RFC 6762): no mail for the demo owner can leave the machine.
    assert DEMO_OWNER_EMAIL.endswith(".local")


def test_up_says_so_when_its_port_is_taken(capsys):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["up", "--port", str(port), "--no-demo"]) == 1
    err = capsys.readouterr().err
    assert f"Cannot listen on 127.0.0.1:{port}" in err
    assert f"PORT={port + 1} make up" in err


@pytest.mark.django_db
def test_it_rotates_the_master_key(capsys, ws_a):
    from hotro.privacy.models import WorkspaceKey

    assert main(["keys", "rotate"]) == 0
    new_id = re.search(r"master key '([^']+)'", capsys.readouterr().out).group(1)
    live = WorkspaceKey.objects.filter(workspace=ws_a, destroyed_at__isnull=True)
    assert live.exists()
    assert set(live.values_list("kek_id", flat=True)) == {new_id}


@pytest.mark.django_db
def test_it_reencrypts_a_workspace(capsys, ws_a):
    assert main(["keys", "reencrypt", ws_a.slug]) == 0
    out = capsys.readouterr().out
    assert re.search(
        r"Workspace 'alpha': \d+ rows and \d+ files are sealed under data key version \d+\.", out
    )
