"""The visitor WebSocket ``ws/widget/<public_key>/``: token check, durable messages with ack, agent
replies pushed live, resume from the last event id without loss or doubles."""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.test import Client

from hotro.config.asgi import application
from hotro.conversations.actions import check_send_reply
from hotro.conversations.models import Conversation, Message
from livechat_helpers import make_inbox, start

pytestmark = pytest.mark.django_db(transaction=True)


def socket(inbox) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    return WebsocketCommunicator(application, f"/ws/widget/{inbox.public_key}/", headers=headers)


async def hello(ws, token, resume_from=None):
    connected, _ = await ws.connect()
    assert connected
    await ws.send_json_to({"type": "hello", "token": token, "resume_from": resume_from})
    frames = []
    while True:
        frame = await ws.receive_json_from(timeout=5)
        frames.append(frame)
        if frame.get("type") == "ready":
            return frames


@pytest.fixture
def inbox(ws_a):
    return make_inbox(ws_a, prechat={"enabled": False})


def test_a_bad_or_foreign_token_closes_the_socket(inbox, ws_b):
    other_token = start(Client(), make_inbox(ws_b)).json()["token"]

    async def scenario():
        for token in ("garbage", other_token):
            ws = socket(inbox)
            assert (await ws.connect())[0]
            await ws.send_json_to({"type": "hello", "token": token})
            assert (await ws.receive_output(timeout=5))["type"] == "websocket.close"
            await ws.disconnect()
        nowhere = WebsocketCommunicator(
            application, "/ws/widget/nope/", headers=[(b"origin", b"http://testserver")]
        )
        connected, code = await nowhere.connect()
        assert not connected and code == 4403

    async_to_sync(scenario)()


def test_messages_are_acked_after_storage_and_agent_replies_arrive_live(inbox, owner_a):
    token = start(Client(), inbox).json()["token"]

    async def scenario():
        ws = socket(inbox)
        await hello(ws, token)
        client_id = str(uuid.uuid4())
        await ws.send_json_to({"type": "message", "client_id": client_id, "text": "Xin chào"})
        frames = [await ws.receive_json_from(timeout=5), await ws.receive_json_from(timeout=5)]
        ack = next(f for f in frames if f.get("type") == "ack")
        echo = next(f for f in frames if f.get("id"))
        assert ack["client_id"] == client_id and ack["message"]["text"] == "Xin chào"
        assert echo["event"]["message"]["id"] == ack["message"]["id"]
        assert await database_sync_to_async(Message.objects.filter(inbox=inbox).count)() == 1
        # a resend after a lost ack is not doubled
        await ws.send_json_to({"type": "message", "client_id": client_id, "text": "Xin chào"})
        again = await ws.receive_json_from(timeout=5)
        assert again["type"] == "ack" and again["message"]["id"] == ack["message"]["id"]
        conversation = await database_sync_to_async(Conversation.objects.get)(inbox=inbox)
        await database_sync_to_async(check_send_reply)(owner_a, conversation, "Chào bạn!")
        live = await ws.receive_json_from(timeout=5)
        assert live["event"]["message"]["text"] == "Chào bạn!" and live["event"]["message"]["from"] == "agent"
        await ws.send_json_to({"type": "message", "client_id": "x", "text": "y"})
        error = await ws.receive_json_from(timeout=5)
        assert error["type"] == "error" and error["code"] == "invalid"
        await ws.disconnect()
        return echo["id"], live["id"]

    first_id, reply_id = async_to_sync(scenario)()
    assert reply_id > first_id


def test_reconnecting_resumes_after_the_last_event_without_loss_or_doubles(inbox, owner_a):
    client = Client()
    token = start(client, inbox).json()["token"]
    client.post(
        f"/widget/{inbox.public_key}/messages",
        {"text": "one", "client_id": str(uuid.uuid4())},
        content_type="application/json",
        HTTP_X_HOTRO_VISITOR=token,
    )
    conversation = Conversation.objects.get(inbox=inbox)

    async def scenario():
        ws = socket(inbox)
        frames = await hello(ws, token, resume_from=0)
        events = [f for f in frames if f.get("id")]
        assert [e["event"]["message"]["text"] for e in events] == ["one"]
        last = events[-1]["id"]
        await ws.disconnect()
        # while the visitor is away, two replies are sent
        await database_sync_to_async(check_send_reply)(owner_a, conversation, "two")
        await database_sync_to_async(check_send_reply)(owner_a, conversation, "three")
        ws = socket(inbox)
        frames = await hello(ws, token, resume_from=last)
        resumed = [f["event"]["message"]["text"] for f in frames if f.get("id")]
        assert resumed == ["two", "three"]
        assert frames[-1]["last_event_id"] > last
        await ws.disconnect()

    async_to_sync(scenario)()


def test_typing_travels_both_ways(inbox, owner_a):
    from hotro.connectors.livechat import agent_typing
    from hotro.realtime.models import RealtimeEvent

    client = Client()
    token = start(client, inbox).json()["token"]
    client.post(
        f"/widget/{inbox.public_key}/messages",
        {"text": "hi", "client_id": str(uuid.uuid4())},
        content_type="application/json",
        HTTP_X_HOTRO_VISITOR=token,
    )
    conversation = Conversation.objects.get(inbox=inbox)

    async def scenario():
        ws = socket(inbox)
        await hello(ws, token)
        await ws.send_json_to({"type": "typing", "conversation_id": str(conversation.pk), "typing": True})
        await database_sync_to_async(agent_typing)(owner_a, conversation, True)
        signal = await ws.receive_json_from(timeout=5)
        assert signal["type"] == "signal" and signal["event"]["typing"] is True
        assert signal["event"]["agent"]["name"]
        await ws.disconnect()

    async_to_sync(scenario)()
    assert RealtimeEvent.objects.filter(type="conversation.typing", payload__who="contact").exists()
