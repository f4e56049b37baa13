"""E-mail ingest throughput: fetch (IMAP, real Dovecot) + parse + thread + store, in messages/s,
printed beside the raw INSERT+COMMIT rate of the same database.

    .venv/bin/python bench/email_ingest.py [--messages 10000] [--database-url postgres://...]

A PostgreSQL database named in ``--database-url`` is dropped and created afresh.

Needs Dovecot (apt-get install -y dovecot-imapd) and root (Dovecot's mail belongs to ``mail``).
The mailbox is filled with APPEND first (not timed); then one ``poll_inbox`` takes it all, each
message becoming a raw event processed at once (immediate task backend), as a worker would.
A third of the messages are replies to earlier ones, so threading does real lookups.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]


def recreate_pg_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}"')
        con.execute(f'CREATE DATABASE "{name}"')


def setup(database_url: str | None) -> None:
    if database_url and database_url.startswith(("postgres://", "postgresql://")):
        recreate_pg_database(database_url)
    scratch = tempfile.mkdtemp(prefix="hotro-bench-")
    os.environ.setdefault("HOTRO_ENV", "test")
    os.environ["HOTRO_VAR_DIR"] = scratch
    os.environ["HOTRO_MASTER_KEY_FILE"] = os.path.join(scratch, "master.key")
    os.environ["HOTRO_TASK_BACKEND"] = "django.tasks.backends.immediate.ImmediateBackend"
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{scratch}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotro.config.settings")
    os.environ["HOTRO_LOG_LEVEL"] = "WARNING"
    os.environ["HOTRO_EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    import django

    django.setup()
    import logging

    logging.getLogger("django.tasks").setLevel(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_mail(i: int, earlier: list[str]):
    from email_support import build_mail

    mid = f"<bench-{i}@customer{i % 500}.test>"
    sender = f"Khách {i % 500} <c{i % 500}@customer{i % 500}.test>"
    if earlier and i % 3 == 0:
        j = random.randrange(max(0, i - 200), i)  # the customer answers their own earlier mail
        parent, sender = earlier[j], f"Khách {j % 500} <c{j % 500}@customer{j % 500}.test>"
        return mid, build_mail(
            sender=sender,
            subject="Re: Đơn hàng",
            body="Cảm ơn!\n\n> trích dẫn",
            message_id=mid,
            in_reply_to=parent,
            references=parent,
        )
    return mid, build_mail(
        sender=sender, subject=f"Đơn hàng {i}", body=f"Tin nhắn số {i}. " * 20, message_id=mid
    )


def insert_rate(seconds: float = 3.0) -> float:
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_raw_insert (id INTEGER, payload TEXT)")
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_raw_insert (id, payload) VALUES (%s, %s)", [count, "x" * 200])
        count += 1
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_raw_insert")
    return count / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    setup(args.database_url)

    from django.db import connection

    from email_support import Dovecot, dovecot_available, make_email_inbox
    from hotro.connectors.email.imap import poll_inbox
    from hotro.conversations.models import Conversation, Message
    from hotro.tenancy.actions import do_create_workspace

    if not dovecot_available():
        print("Dovecot is not installed (apt-get install -y dovecot-imapd) or this is not root.")
        return 2
    dovecot = Dovecot().start()
    try:
        workspace = do_create_workspace(
            slug="bench", name="Bench", owner_email="o@bench.test", password="x-bench-9"
        )
        # The bench's 500 senders write often: lift the per-sender fraud/loop limits.
        inbox = make_email_inbox(
            workspace, dovecot=dovecot, user="bench@example.test", volume_limit=10**9, auto_limit=10**9
        )
        start = time.perf_counter()
        earlier: list[str] = []
        batch = []
        for i in range(args.messages):
            mid, raw = make_mail(i, earlier)
            earlier.append(mid)
            batch.append(raw)
            if len(batch) == 500:
                dovecot.append(batch, user="bench@example.test")
                batch = []
        if batch:
            dovecot.append(batch, user="bench@example.test")
        print(f"APPENDed {args.messages} messages in {time.perf_counter() - start:.1f} s (not timed below)")

        statements = 0

        def count(execute, sql, params, many, context):
            nonlocal statements
            statements += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            start, cpu = time.perf_counter(), time.process_time()
            stored = poll_inbox(inbox, lease_seconds=24 * 3600)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        messages = Message.objects.filter(inbox=inbox).count()
        conversations = Conversation.objects.filter(inbox=inbox).count()
        rate = stored / elapsed if elapsed else 0.0
        raw_rate = insert_rate()
        print(f"database: {connection.vendor}")
        print(f"fetched+parsed+threaded+stored: {stored} messages in {elapsed:.1f} s = {rate:.0f} messages/s")
        print(f"  -> {messages} messages in {conversations} conversations")
        if stored:
            print(
                f"  {statements / stored:.1f} SQL statements and "
                f"{1000 * cpu / stored:.1f} ms CPU (this process) per message"
            )
        print(f"raw INSERT+COMMIT rate of the same database: {raw_rate:.0f} rows/s")
        print(f"ratio: one stored e-mail costs about {raw_rate / rate:.1f} raw commits" if rate else "")
    finally:
        dovecot.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
