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
