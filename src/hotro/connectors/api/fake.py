"""A fake webhook receiver on 127.0.0.1 for tests and the demo sandbox (stdlib only).

It verifies ``X-Hotro-Signature``, records every attempt, deduplicates by ``X-Hotro-Delivery`` (as a
real receiver should) and can be told to misbehave::

    with FakeReceiver(secret) as rx:
        rx.fail_next(2, status=500)        # or status=410, or mode="timeout"
        rx.hold_next(5.0)                   # keep the next request open 5 s before answering
        ... rx.url, rx.delivered (ids, first-seen order), rx.attempts
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .signing import DELIVERY_HEADER, SIGNATURE_HEADER, SignatureError, verify_signature


class FakeReceiver:
    def __init__(self, secret: str, host: str = "127.0.0.1", port: int = 0):
        self.secret = secret
        self.lock = threading.Lock()
        self.attempts: list[str] = []  # delivery id of every request with a valid signature
        self.delivered: list[str] = []  # distinct delivery ids acknowledged, first-seen order
        self.bodies: dict[str, dict] = {}
        self.rejected = 0  # requests with a bad signature
        self.received_event = threading.Event()  # set when any request arrives
        self._failures: list[tuple[str, int, float]] = []  # (mode, status, seconds)
        self._stop = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver._handle(self, body)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-receiver", daemon=True)

    # control -------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/hotro"

    def fail_next(self, n: int, status: int = 500, mode: str = "status", seconds: float = 0.0) -> None:
        """The next ``n`` requests fail: ``mode="status"`` answers ``status``; ``mode="timeout"``
        sleeps ``seconds`` (longer than the client's timeout) before answering 200 too late."""
        with self.lock:
            self._failures.extend([(mode, status, seconds)] * n)

    def hold_next(self, seconds: float) -> None:
        """Keep the next request open ``seconds`` before acknowledging it."""
        with self.lock:
            self._failures.append(("hold", 200, seconds))

    def start(self) -> FakeReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeReceiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_for(self, predicate, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate(self):
                    return True
            time.sleep(0.02)
        return False

    # serving -------------------------------------------------------------------------------------
    def _answer(self, handler, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout) or was killed

    def _handle(self, handler, body: bytes) -> None:
        try:
            verify_signature(self.secret, handler.headers.get(SIGNATURE_HEADER), body)
        except SignatureError as exc:
            with self.lock:
                self.rejected += 1
            self.received_event.set()
            self._answer(handler, 401, {"error": str(exc)})
            return
        delivery_id = handler.headers.get(DELIVERY_HEADER, "")
        with self.lock:
            self.attempts.append(delivery_id)
            failure = self._failures.pop(0) if self._failures else None
        self.received_event.set()
        if failure is not None:
            mode, status, seconds = failure
            if mode in {"timeout", "hold"}:
                self._stop.wait(seconds)
            if mode == "status":
                self._answer(handler, status, {"error": "told to fail"})
                return
            if mode == "timeout":
                self._answer(handler, 200, {"late": True})
                return
        with self.lock:
            if delivery_id not in self.bodies:
                self.bodies[delivery_id] = json.loads(body)
                self.delivered.append(delivery_id)
        self._answer(handler, 200, {"ok": True})
