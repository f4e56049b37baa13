"""The live channel ``ws/w/<slug>/``: session auth, membership, live events, resume without gaps."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from hotro.config.asgi import application
from hotro.realtime.events import publish_event
from hotro.realtime.models import RealtimeEvent
from hotro.tenancy.models import Role
from inbox_helpers import add_member, make_inbox, receive

pytestmark = pytest.mark.django_db(transaction=True)


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def communicator(path="/ws/w/alpha/", cookie: bytes = b"") -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, path, headers=headers)


def run(coro_fn):
    return async_to_sync(coro_fn)()


def latest_id(workspace) -> int:
    return (
        RealtimeEvent.objects.filter(workspace=workspace).order_by("-id").values_list("id", flat=True).first()
        or 0
    )


def test_anonymous_and_strangers_are_refused_with_4403(owner_b, ws_a):
    cookie = session_cookie(owner_b.user)

    async def scenario():
        anonymous = communicator()
        connected, code = await anonymous.connect()
        assert not connected and code == 4403
        stranger = communicator(cookie=cookie)  # member of beta, not of alpha
        connected, code = await stranger.connect()
        assert not connected and code == 4403
        nowhere = communicator("/ws/w/no-such-workspace/", cookie=cookie)
        connected, code = await nowhere.connect()
        assert not connected and code == 4403

    run(scenario)


def test_an_inactive_member_is_refused(ws_a):
    member = add_member(ws_a, "gone@alpha.test", Role.AGENT)
    member.is_active = False
    member.save(update_fields=["is_active"])
    cookie = session_cookie(member.user)

    async def scenario():
        connected, code = await communicator(cookie=cookie).connect()
        assert not connected and code == 4403

    run(scenario)


def test_live_events_of_the_workspace_are_delivered_and_others_are_not(owner_a, ws_a, ws_b):
    inbox_a = make_inbox(ws_a)
    inbox_b = make_inbox(ws_b)
    start = latest_id(ws_a)

    cookie = session_cookie(owner_a.user)

    async def scenario():
        socket = communicator(cookie=cookie)
        connected, _ = await socket.connect()
        assert connected
        await socket.send_json_to({"resume_from": start})
        await database_sync_to_async(receive)(inbox_b, "b-1", sender="b-cust")  # another workspace
        message = await database_sync_to_async(receive)(inbox_a, "a-1")
        frames = [await socket.receive_json_from(timeout=3) for _ in range(2)]
        types = [f["event"]["type"] for f in frames]
        assert types == ["conversation.created", "message.created"]
        assert frames[1]["event"]["conversation_id"] == str(message.conversation_id)
        assert frames[1]["event"]["message_id"] == str(message.pk)
        assert frames[0]["id"] < frames[1]["id"]
        assert "text" not in frames[1]["event"]  # events carry ids and states, never message content
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario)


def test_resume_replays_missed_events_in_order_then_live_ones(owner_a, ws_a, ws_b):
    seen_before = publish_event(ws_a.pk, {"type": "test.seen", "n": 0})
    missed = [publish_event(ws_a.pk, {"type": "test.missed", "n": n}) for n in (1, 2, 3)]
    publish_event(ws_b.pk, {"type": "test.other_workspace"})

    cookie = session_cookie(owner_a.user)

    async def scenario():
        socket = communicator(cookie=cookie)
        assert (await socket.connect())[0]
        await socket.send_json_to({"resume_from": seen_before})
        replayed = [await socket.receive_json_from(timeout=3) for _ in missed]
        assert [f["id"] for f in replayed] == missed
        assert [f["event"]["n"] for f in replayed] == [1, 2, 3]
        live = await database_sync_to_async(publish_event)(ws_a.pk, {"type": "test.live"})
        frame = await socket.receive_json_from(timeout=3)
        assert frame == {"id": live, "event": {"type": "test.live"}}
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario)


def test_events_published_before_the_resume_frame_are_sent_once(owner_a, ws_a):
    start = latest_id(ws_a)

    cookie = session_cookie(owner_a.user)

    async def scenario():
        socket = communicator(cookie=cookie)
        assert (await socket.connect())[0]
        # published after joining the group but before the client said where it is: it reaches the
        # consumer live (held back) *and* is in the stored backlog; the browser must get it once
        early = await database_sync_to_async(publish_event)(ws_a.pk, {"type": "test.early"})
        await socket.send_json_to({"resume_from": start})
        frame = await socket.receive_json_from(timeout=3)
        assert frame["id"] == early
        assert await socket.receive_nothing(timeout=0.3)
        later = await database_sync_to_async(publish_event)(ws_a.pk, {"type": "test.later"})
        assert (await socket.receive_json_from(timeout=3))["id"] == later
        await socket.disconnect()

    run(scenario)


def test_a_client_too_far_behind_is_told_to_resync(owner_a, ws_a, monkeypatch):
    from hotro.realtime import consumers

    monkeypatch.setattr(consumers.WorkspaceEventsConsumer, "max_replay", 2)
    start = latest_id(ws_a)
    ids = [publish_event(ws_a.pk, {"type": "test.burst", "n": n}) for n in range(4)]

    cookie = session_cookie(owner_a.user)

    async def scenario():
        socket = communicator(cookie=cookie)
        assert (await socket.connect())[0]
        await socket.send_json_to({"resume_from": start})
        assert await socket.receive_json_from(timeout=3) == {"resync": True, "id": ids[-1]}
        live = await database_sync_to_async(publish_event)(ws_a.pk, {"type": "test.after"})
        assert (await socket.receive_json_from(timeout=3))["id"] == live
        await socket.disconnect()

    run(scenario)


def test_prune_task_deletes_events_older_than_a_day(ws_a):
    from datetime import timedelta

    from django.utils import timezone

    from hotro.realtime.tasks import prune_realtime_events

    old = publish_event(ws_a.pk, {"type": "test.old"})
    fresh = publish_event(ws_a.pk, {"type": "test.fresh"})
    RealtimeEvent.objects.filter(pk=old).update(created_at=timezone.now() - timedelta(days=2))
    result = prune_realtime_events.call()
    assert result == 1
    assert list(RealtimeEvent.objects.filter(pk__in=[old, fresh]).values_list("pk", flat=True)) == [fresh]


def test_removing_a_member_closes_their_socket_but_not_others(owner_a, ws_a):
    from hotro.tenancy.actions import do_remove_member

    agent = add_member(ws_a, "leaving@alpha.test", Role.AGENT)
    agent_cookie, owner_cookie = session_cookie(agent.user), session_cookie(owner_a.user)
    start = latest_id(ws_a)

    async def scenario():
        leaving, staying = communicator(cookie=agent_cookie), communicator(cookie=owner_cookie)
        assert (await leaving.connect())[0] and (await staying.connect())[0]
        for socket in (leaving, staying):
            await socket.send_json_to({"resume_from": start})
        await database_sync_to_async(do_remove_member)(agent, actor=owner_a)
        closed = await leaving.receive_output(timeout=3)
        assert closed == {"type": "websocket.close", "code": 4403}
        frame = await staying.receive_json_from(timeout=3)
        assert frame["event"]["type"] == "member.removed"
        reconnect = communicator(cookie=agent_cookie)
        connected, code = await reconnect.connect()
        assert not connected and code == 4403
        await staying.disconnect()

    run(scenario)
