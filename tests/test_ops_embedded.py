"""Embedded mode's channel layer: events published by worker threads reach the server's consumers."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import uvloop
from asgiref.sync import async_to_sync

from hotro.config.embedded import EmbeddedChannelLayer


def deliver_from_another_thread(run) -> float:
    """Latency of a group_send made by a plain thread to a receiver waiting on the server's loop."""
    layer = EmbeddedChannelLayer()

    async def scenario() -> float:
        channel = await layer.new_channel()
        await layer.group_add("workspace.x", channel)

        def worker_thread():
            time.sleep(0.2)  # let the receiver start waiting
            async_to_sync(layer.group_send)("workspace.x", {"type": "hotro.event", "sent": time.monotonic()})

        threading.Thread(target=worker_thread).start()
        message = await asyncio.wait_for(layer.receive(channel), timeout=10)
        return time.monotonic() - message["sent"]

    return run(scenario())


@pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def test_a_worker_thread_event_reaches_the_server_loop_at_once(run):
    # The plain in-memory layer needs the next I/O wake-up (asyncio) or never delivers (uvloop).
    assert deliver_from_another_thread(run) < 1.0


def test_it_works_like_the_in_memory_layer_on_one_loop():
    layer = EmbeddedChannelLayer()

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add("g", channel)
        await layer.group_send("g", {"type": "hotro.event", "n": 1})
        await layer.send(channel, {"type": "hotro.event", "n": 2})
        return [(await layer.receive(channel))["n"], (await layer.receive(channel))["n"]]

    assert asyncio.run(scenario()) == [1, 2]


def test_a_closed_server_loop_does_not_break_later_sends():
    layer = EmbeddedChannelLayer()

    async def first():
        await layer.group_add("g", await layer.new_channel())

    asyncio.run(first())  # the loop that registered is closed now
    async_to_sync(layer.group_send)("g", {"type": "hotro.event"})  # must not raise


def test_embedded_settings_use_it():
    from django.conf import settings as live

    if live.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis"):
        pytest.skip("REDIS_URL is set for this run")
    assert live.CHANNEL_LAYERS["default"]["BACKEND"] == "hotro.config.embedded.EmbeddedChannelLayer"


# -- `hotro up` with mail: the demo's forwarding-only e-mail inbox receives over real SMTP -------

COUNT_DEMO_MAIL = """
import django, json
django.setup()
from hotro.conversations.models import Conversation
from hotro.privacy.rls import system_scope
with system_scope():
    found = [
        {"subject": c.subject, "channel": c.inbox.connector, "inbox": c.inbox.name}
        for c in Conversation.objects.filter(workspace__slug="demo").select_related("inbox")
    ]
print(json.dumps(found, ensure_ascii=False))
"""


@pytest.mark.slow
def test_hotro_up_receives_mail_for_the_demo_email_inbox_and_stops_cleanly(tmp_path):
    import json
    import re
    import signal
    import smtplib
    from email.message import EmailMessage

    import ops_support as ops

    port, smtp_port = ops.free_port(), ops.free_port()
    env = ops.embedded_env(tmp_path) | {"PORT": str(port), "SMTP_PORT": str(smtp_port)}
    process, output = ops.start_hotro_up(env, tmp_path)
    try:
        ops.wait_until_healthy(f"http://127.0.0.1:{port}", process, output)
        assert f"SMTP on 127.0.0.1:{smtp_port}" in output.text
        assert "Created the demo e-mail inbox 'Support e-mail'" in output.text
        address = output.wait_for(r"Mail to (\S+@\S+) becomes a conversation", 5).group(1)

        mail = EmailMessage()
        mail["From"] = "Lan Nguyễn <lan@customer.test>"
        mail["To"] = address
        mail["Subject"] = "Đơn hàng 1234 chưa tới"
        mail["Message-ID"] = "<embedded-1@customer.test>"
        mail.set_content("Xin chào, đơn hàng của tôi chưa tới.")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
            refused = client.sendmail(
                "lan@customer.test", [address, "nobody@mail.localhost"], mail.as_bytes()
            )
        assert list(refused) == ["nobody@mail.localhost"]  # unknown recipients are refused at RCPT

        found: list = []
        deadline = time.monotonic() + 30
        while not found and time.monotonic() < deadline:
            done = ops.run_django_script(COUNT_DEMO_MAIL, env, tmp_path)
            assert done.returncode == 0, done.stderr
            found = json.loads(done.stdout.strip().splitlines()[-1])
            time.sleep(0.3)
        assert found == [
            {"subject": "Đơn hàng 1234 chưa tới", "channel": "email", "inbox": "Support e-mail"}
        ], output.text

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0, output.text
    finally:
        ops.kill_if_running(process)
    output.wait_for(r"hotro stopped\.", 5)
    assert "Traceback" not in output.text
    with smtplib.SMTP() as client, pytest.raises(OSError):
        client.connect("127.0.0.1", smtp_port)  # the receiver stopped with the rest
    assert re.search(r"Mail to \S+@mail\.localhost", output.text)
