"""Chaos: kill -9 each kind of process (web, worker, scheduler) of the production-mode stack during a
mixed load of inbound messages, agent replies and widget chats.  Counted afterwards in the database:
every accepted message stored exactly once (0 lost, 0 doubled); every reply delivered at least once,
always under the same delivery id (the receiver deduplicates)."""

from __future__ import annotations

import concurrent.futures
import signal
import threading
import time
import uuid

import httpx
import psycopg
import pytest

from hotro.connectors.api.fake import FakeReceiver
from prodstack_support import StackClient, make_stack, require_stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

INBOUND, REPLIES, VISITORS, VISITOR_MESSAGES, LANES = 240, 40, 12, 3, 6


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_stack()
    stack = make_stack(
        root=tmp_path_factory.mktemp("chaos"),
        allow_private_webhooks=True,
        # short leases and a quick verdict on dead workers keep the test short; the scheduler's
        # recovery job still runs only once a minute, as in production
        extra_env={
            "HOTRO_CLAIM_LEASE_SECONDS": "10",
            "HOTRO_WORKER_BEAT_SECONDS": "0.5",
            "HOTRO_WORKER_LOST_SECONDS": "3",
            "HOTRO_API_RATE": "100000/m",
        },
    )
    stack.up()
    try:
        yield stack
    finally:
        stack.down()


def retrying(send, attempts: int = 30):
    """What a well-behaved client does: retry the same request until it is answered."""
    for _ in range(attempts):
        try:
            response = send()
        except httpx.TransportError:
            time.sleep(0.3)
            continue
        if response.status_code < 500:
            return response
        time.sleep(0.3)
    raise AssertionError("the stack never answered")


def chaos(stack, stop: threading.Event, killed: list):
    """Kill -9 one process of each kind in turn and start it again, while the load runs."""
    for name in ("web-1", "worker-1", "scheduler", "web-2", "worker-2"):
        if stop.wait(1.5):
            return
        stack.kill(name, signal.SIGKILL)
        killed.append(name)
        time.sleep(1.0)
        stack.start(name)


def test_killing_any_process_loses_and_doubles_nothing(stack):
    receiver = FakeReceiver("placeholder").start()
    api = StackClient(stack)
    try:
        inbox = api.post(
            "/api/v1/inboxes", json={"channel": "api", "name": "CRM", "webhook_url": receiver.url}
        )
        assert inbox.status_code == 201, inbox.text
        receiver.secret = inbox.json()["webhook_secret"]
        inbox_id = inbox.json()["id"]
        chat = api.post(
            "/api/v1/inboxes",
            json={"channel": "livechat", "name": "Web", "allowed_origins": ["https://shop.example"]},
        ).json()
        stop, killed = threading.Event(), []
        chaos_thread = threading.Thread(target=chaos, args=(stack, stop, killed))
        accepted, chats, replies, lock = [], [], [], threading.Lock()

        def inbound(n: int) -> None:
            ext = f"chaos-{n}"
            body = {"external_id": ext, "contact": {"external_id": f"c-{n % 60}"}, "text": f"Chốt đơn {n}"}
            response = retrying(lambda: api.post(f"/api/v1/inboxes/{inbox_id}/inbound", json=body))
            assert response.status_code == 202, response.text
            with lock:
                accepted.append(ext)

        def visitor(n: int) -> None:
            with httpx.Client(base_url=stack.url, verify=stack.tls(), timeout=30) as client:
                widget = f"/widget/{chat['public_key']}"
                token = retrying(lambda: client.post(f"{widget}/session", json={"lang": "vi"})).json()[
                    "token"
                ]
                for i in range(VISITOR_MESSAGES):
                    body = {"text": f"Khách {n} hỏi {i}", "client_id": str(uuid.uuid4())}
                    answer = retrying(
                        lambda body=body: client.post(
                            f"{widget}/messages", json=body, headers={"X-Hotro-Visitor": token}
                        )
                    )
                    assert answer.status_code in {200, 201}, answer.text
                    with lock:
                        chats.append(body["client_id"])

        def reply(n: int) -> None:
            listed = retrying(
                lambda: api.get("/api/v1/conversations", params={"inbox": inbox_id, "limit": 20})
            )
            conversation = listed.json()["items"][n % len(listed.json()["items"])]
            path, body = (
                f"/api/v1/conversations/{conversation['id']}/reply",
                {"text": f"Dạ shop nhận đơn {n}"},
            )
            answer = retrying(lambda: api.post(path, json=body))
            assert answer.status_code == 201, answer.text
            with lock:
                replies.append(answer.json()["id"])

        def load(lane: int) -> None:
            """Inbound messages, with a chat visitor and an agent reply now and then, until the chaos
            is over and at least the planned amounts went through."""
            n = lane
            while not (killed[-1:] == ["worker-2"] and not chaos_thread.is_alive()) or n < INBOUND:
                inbound(n)
                if n % 20 == lane and len(chats) < VISITORS * VISITOR_MESSAGES:
                    visitor(n)
                if n >= 30 and n % 6 == lane and len(replies) < REPLIES:
                    reply(n)
                n += LANES

        chaos_thread.start()
        with concurrent.futures.ThreadPoolExecutor(max_workers=LANES) as pool:
            for done in [pool.submit(load, lane) for lane in range(LANES)]:
                done.result()
        while len(replies) < REPLIES:
            reply(len(replies))
        stop.set()
        chaos_thread.join(timeout=60)
        assert killed == ["web-1", "worker-1", "scheduler", "web-2", "worker-2"]
        assert len(accepted) >= INBOUND and len(chats) >= VISITORS * VISITOR_MESSAGES

        with psycopg.connect(stack.database_url, autocommit=True) as db:

            def stored() -> dict[str, int]:
                rows = db.execute(
                    "SELECT external_id, count(*) FROM hotro_message "
                    "WHERE direction = 'in' GROUP BY external_id"
                ).fetchall()
                return dict(rows)

            def sent_deliveries() -> int:
                return db.execute("SELECT count(*) FROM hotro_delivery WHERE status = 'sent'").fetchone()[0]

            # the scheduler's minutely recovery may be needed for work a killed worker held
            deadline = time.monotonic() + 200
            while time.monotonic() < deadline:
                counts = stored()
                if all(ext in counts for ext in accepted) and sent_deliveries() >= len(replies):
                    break
                time.sleep(1)
            counts = stored()
            lost = [ext for ext in accepted if ext not in counts]
            doubled = {ext: n for ext, n in counts.items() if n > 1}
            assert (len(lost), doubled) == (0, {}), f"lost {lost[:10]}; doubled {doubled}"
            chat_rows = dict(
                db.execute(
                    "SELECT split_part(external_id, ':', 3), count(*) FROM hotro_message "
                    "WHERE external_id LIKE 'lc:%' GROUP BY 1"
                ).fetchall()
            )
            assert sorted(chat_rows) == sorted(chats) and set(chat_rows.values()) == {1}
            dead = db.execute(
                "SELECT count(*) FROM hotro_raw_event WHERE status IN ('dead', 'failed')"
            ).fetchone()
            assert dead[0] == 0
            assert sent_deliveries() == len(replies) >= REPLIES
            delivery_ids = {
                str(pk)
                for (pk,) in db.execute(
                    "SELECT id FROM hotro_delivery WHERE message_id = ANY(%s::uuid[])", [replies]
                )
            }
        assert receiver.wait_for(lambda r: set(r.delivered) >= delivery_ids, timeout=30)
        assert set(receiver.attempts) == delivery_ids  # resent at most, always under the same id
        assert receiver.rejected == 0
    finally:
        api.close()
        receiver.stop()
