"""`make up` end to end: `hotro up` migrates, creates the demo owner, serves, runs tasks, stops on Ctrl-C."""

from __future__ import annotations

import re
import signal

import httpx
import pytest

from ops_support import (
    embedded_env,
    free_port,
    kill_if_running,
    run_django_script,
    start_hotro_up,
    wait_until_healthy,
)


def log_in(base_url: str, email: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        form = client.get("/accounts/login/")
        assert form.status_code == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        return client.post(
            "/accounts/login/",
            data={"csrfmiddlewaretoken": token, "login": email, "password": password},
            headers={"Referer": f"{base_url}/accounts/login/"},
        )


ENQUEUE_HEARTBEAT = """
import django, sys, time
django.setup()
from crontask.tasks import heartbeat
from django_tasks_db.models import DBTaskResult
result = heartbeat.enqueue()
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    status = DBTaskResult.objects.get(pk=result.id).status
    if status in ("SUCCESSFUL", "FAILED"):
        break
    time.sleep(0.1)
print(status)
"""


@pytest.mark.slow
def test_hotro_up_serves_runs_tasks_and_stops_cleanly_on_ctrl_c(tmp_path):
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = embedded_env(tmp_path) | {"PORT": str(port)}
    process, output = start_hotro_up(env, tmp_path)
    try:
        wait_until_healthy(base_url, process, output)
        email = output.wait_for(r"e-mail:\s+(\S+)", 5).group(1)
        password = output.wait_for(r"password:\s+(\S+)", 5).group(1)
        assert email == "owner@demo.hotro.local"
        assert f"Sign in at {base_url}/accounts/login/" in output.text

        # Query strings carry personal data: the access log keeps the path only.
        httpx.get(f"{base_url}/healthz?email=lan.nguyen%40example.vn&q=ho%C3%A0n+ti%E1%BB%81n", timeout=5)
        output.wait_for(r"GET /healthz\?… HTTP", 5)
        assert "lan.nguyen" not in output.text and "example.vn" not in output.text

        refused = log_in(base_url, email, password + "x")
        assert refused.status_code == 200  # the form again, with an error
        assert "sessionid" not in refused.cookies
        accepted = log_in(base_url, email, password)
        assert accepted.status_code == 302
        assert "/accounts/login/" not in accepted.headers["location"]
        assert "sessionid" in accepted.cookies

        # The embedded task worker picks up what another process enqueues in the same database.
        enqueue = run_django_script(ENQUEUE_HEARTBEAT, env, tmp_path)
        assert enqueue.returncode == 0, enqueue.stderr
        assert enqueue.stdout.strip() == "SUCCESSFUL", output.text

        assert "Scheduler started" in output.text

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0, output.text
    finally:
        kill_if_running(process)
    output.wait_for(r"hotro stopped\.", 5)
    assert "Traceback" not in output.text

    # A second start reuses the database and the demo owner, and never prints a password again.
    second, again = start_hotro_up(env, tmp_path)
    try:
        wait_until_healthy(base_url, second, again)
        assert "password:" not in again.text
        assert f"as {email}" in again.text
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=15) == 0, again.text
    finally:
        kill_if_running(second)
