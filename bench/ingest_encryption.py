"""Inbound ingest throughput with encryption on and off, next to the database's raw commit rate.

Runs the real ``conversations.actions.do_receive_message`` (contact lookup by blind index and
decrypt-verify, new contact/identity when unknown, conversation threading, encrypted message with
search tokens, one transaction per message) for the same generated traffic twice per round: with
AES-256-GCM + HMAC blind indexes, and with the benchmark-only null cipher (``_setup.null_cipher``).
Rounds alternate the order to cancel warm-up effects; the median of each mode is reported.

    .venv/bin/python bench/ingest_encryption.py                  # embedded SQLite (WAL) in a temp dir
    .venv/bin/python bench/ingest_encryption.py --pg             # PostgreSQL database hotro_bench_ingest

Goal: encryption costs < 15 % of ingest throughput.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import time

from _setup import configure, median, null_cipher

PG_URL = "postgres://postgres@127.0.0.1:5432/hotro_bench_ingest"


def recreate_pg_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}"')
        con.execute(f'CREATE DATABASE "{name}"')


def make_traffic(n: int, contacts: int, seed: int):
    from _corpus import MessageMaker

    from hotro.connectors.base import InboundMessage

    rng = random.Random(seed)
    maker = MessageMaker(seed)
    traffic = []
    for i in range(n):
        k = rng.randrange(contacts)
        traffic.append(
            InboundMessage(
                external_id=f"m{seed}-{i}",
                channel="email",
                sender_address=f"khach.hang{k}@example.vn",
                sender_name=f"Nguyễn Văn Khách {k}",
                sender_email=f"khach.hang{k}@example.vn",
                subject=f"Đơn hàng DH{10000 + k}",
                text=maker.sentence(8, 40),
            )
        )
    return traffic


def new_inbox(label: str):
    from hotro.connectors.models import Inbox
    from hotro.privacy.keys import ensure_workspace_keys
    from hotro.tenancy.models import Workspace

    ws = Workspace.objects.create(slug=f"bench-{label}", name="Bench")
    ensure_workspace_keys(ws.pk)
    return Inbox.objects.create(workspace=ws, connector="api", name="Bench inbox")


def ingest(inbox, traffic, mode: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) to receive ``traffic`` into ``inbox``."""
    from hotro.conversations.actions.receive import do_receive_message

    with null_cipher() if mode == "off" else contextlib.nullcontext():
        wall, cpu = time.perf_counter(), time.process_time()
        for inbound in traffic:
            do_receive_message(inbox, inbound)
        return time.perf_counter() - wall, time.process_time() - cpu


def raw_commit_rate(n: int) -> float:
    """INSERT of one ~300-byte row and COMMIT, n times, on the same connection."""
    import os

    from django.db import connection

    blob = "bytea" if connection.vendor == "postgresql" else "blob"
    with connection.cursor() as cur:
        cur.execute(f"CREATE TABLE IF NOT EXISTS bench_raw (id bigint PRIMARY KEY, payload {blob})")
        cur.execute("DELETE FROM bench_raw")
    payload = os.urandom(300)
    start = time.perf_counter()
    with connection.cursor() as cur:
        for i in range(n):
            cur.execute("INSERT INTO bench_raw (id, payload) VALUES (%s, %s)", [i, payload])  # autocommit
    return n / (time.perf_counter() - start)


def queries_per_message(traffic) -> float:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from hotro.conversations.actions.receive import do_receive_message

    inbox = new_inbox("queries")
    for inbound in traffic[:50]:
        do_receive_message(inbox, inbound)  # warm: most senders now known
    with CaptureQueriesContext(connection) as ctx:
        for inbound in traffic[50:150]:
            do_receive_message(inbox, inbound)
    return len(ctx.captured_queries) / 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", action="store_true", help=f"use PostgreSQL ({PG_URL})")
    args = parser.parse_args()

    if args.pg:
        recreate_pg_database(PG_URL)
    configure(PG_URL if args.pg else None)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    print(f"traffic: {args.messages} messages from {args.contacts} senders, {args.rounds} rounds per mode")

    warm = make_traffic(200, 100, seed=1000)  # imports, statement caches, page cache
    ingest(new_inbox("warm-on"), warm, "on")
    ingest(new_inbox("warm-off"), warm, "off")

    # Both modes receive the same traffic into their own workspace, interleaved in chunks of 100
    # (alternating which goes first), so machine load and database growth hit both alike.
    wall = {"on": 0.0, "off": 0.0}
    cpu = {"on": 0.0, "off": 0.0}
    per_round: dict[str, list[float]] = {"on": [], "off": []}
    for r in range(args.rounds):
        traffic = make_traffic(args.messages, args.contacts, seed=r)
        inboxes = {mode: new_inbox(f"{mode}-{r}") for mode in ("on", "off")}
        round_wall = {"on": 0.0, "off": 0.0}
        for i in range(0, len(traffic), 100):
            order = ("on", "off") if (i // 100 + r) % 2 == 0 else ("off", "on")
            for mode in order:
                w, c = ingest(inboxes[mode], traffic[i : i + 100], mode)
                round_wall[mode] += w
                cpu[mode] += c
        for mode in ("on", "off"):
            wall[mode] += round_wall[mode]
            per_round[mode].append(len(traffic) / round_wall[mode])
        print(
            f"  round {r + 1}: encryption on {per_round['on'][-1]:7.1f} msgs/s, "
            f"off {per_round['off'][-1]:7.1f} msgs/s"
        )

    raw = median([raw_commit_rate(3000) for _ in range(3)])
    qpm = queries_per_message(make_traffic(150, 60, seed=99))
    total = args.messages * args.rounds
    on, off = total / wall["on"], total / wall["off"]
    cpu_on, cpu_off = total / cpu["on"], total / cpu["off"]
    cost = (1 - on / off) * 100
    cpu_cost = (1 - cpu_on / cpu_off) * 100
    print()
    print(f"ingest, encryption ON : {on:8.1f} msgs/s wall   {cpu_on:8.1f} msgs per CPU-second")
    print(f"ingest, encryption OFF: {off:8.1f} msgs/s wall   {cpu_off:8.1f} msgs per CPU-second")
    print(f"ratio ON/OFF          : {on / off:8.3f} wall       {cpu_on / cpu_off:8.3f} CPU")
    print(f"encryption cost       : {cost:7.1f} % wall      {cpu_cost:7.1f} % CPU   (goal < 15 %)")
    print(f"raw INSERT+COMMIT     : {raw:8.1f} commits/s on the same database")
    print(f"ingest ON / raw commit: {on / raw:8.4f}  ({qpm:.1f} SQL statements per message)")
    print("RESULT:", "PASS" if cost < 15 else "ABOVE GOAL")


if __name__ == "__main__":
    main()
