"""Keyword search latency over encrypted messages on PostgreSQL (goal: p95 < 150 ms at 1M messages).

Loads (once; later runs reuse it) a workspace with 1,000,000 messages in 100,000 conversations into
the database ``hotro_bench``: message text sealed with the real AES-256-GCM cipher and the real
associated data, search tokens from the real blind functions, over a Zipf-distributed
Vietnamese/English customer-care vocabulary (``_corpus``).  Rows go in with COPY and the GIN index
is built afterwards.  Then it times 200 queries of 1-3 words through the application code:

* messages page: ``search.search_messages(...).order_by("-created_at")[:50]`` then decrypt-verify
  (``verify_messages``) of that page, as an agent's search results page does;
* conversations page: ``search.search_conversations(...)`` (EXISTS subquery) over the inbox list
  ordered by last activity, first 25: all statuses (the API's default) and "open" (the agent UI's);

and, as the physical baseline, the same messages query as raw SQL (``@>`` on the GIN index, no ORM,
no decryption).

    .venv/bin/python bench/search_latency.py [--messages 1000000] [--reload]

The master key and the dataset's parameters are kept in ``$HOTRO_BENCH_DIR`` (default
``/tmp/hotro-bench-search``); when they do not match the database, it is reloaded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path

from _corpus import MessageMaker

DB_NAME = "hotro_bench"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
BENCH_DIR = Path(os.environ.get("HOTRO_BENCH_DIR", "/tmp/hotro-bench-search"))
DATASET_VERSION = 1
PER_CONVERSATION = 10


def configure() -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        HOTRO_ENV="test",
        HOTRO_VAR_DIR=str(BENCH_DIR),
        HOTRO_MASTER_KEY_FILE=str(BENCH_DIR / "master.key"),
        DATABASE_URL=DB_URL,
        HOTRO_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="hotro.config.settings",
    )
    os.environ.pop("HOTRO_MASTER_KEY", None)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    import django

    django.setup()


def ensure_database() -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as con:
        if not con.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
            con.execute(f'CREATE DATABASE "{DB_NAME}"')


def drop_database() -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    (BENCH_DIR / "master.key").unlink(missing_ok=True)
    (BENCH_DIR / "dataset.json").unlink(missing_ok=True)


def dataset_matches(n: int) -> bool:
    from hotro.tenancy.models import Workspace

    meta = BENCH_DIR / "dataset.json"
    if not meta.exists():
        return False
    info = json.loads(meta.read_text())
    if info.get("version") != DATASET_VERSION or info.get("messages") != n:
        return False
    return Workspace.objects.filter(slug="bench-search").exists()


def _copy(cursor, model, columns: list[str], rows) -> int:
    table = model._meta.db_table
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def load(n: int) -> None:
    from django.db import connection

    from hotro.connectors.models import Inbox
    from hotro.contacts.models import Contact
    from hotro.conversations.models import Conversation, Message
    from hotro.privacy import blind, crypto, keys
    from hotro.privacy.keys import ensure_workspace_keys
    from hotro.tenancy.ids import uuid7
    from hotro.tenancy.models import Workspace

    t0 = time.perf_counter()
    ws = Workspace.objects.create(slug="bench-search", name="Search bench")
    ensure_workspace_keys(ws.pk)
    inbox = Inbox.objects.create(workspace=ws, connector="api", name="Bench inbox")
    version, data_key = keys.data_key(ws.pk)
    n_conv = max(1, n // PER_CONVERSATION)
    n_contacts = max(1, n_conv // 5)
    maker = MessageMaker(seed=2026)
    rng = random.Random(5)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    span = 2 * 365 * 86400

    def sealed(table, column, pk, text):
        aad = crypto.associated_data(ws.pk, table, column, pk)
        return crypto.seal(data_key, version, text.encode(), aad)

    connection.ensure_connection()
    raw = connection.connection  # psycopg connection in autocommit mode (Django's default)
    with raw.cursor() as cur:
        cur.execute("DROP INDEX IF EXISTS message_search_tokens_gin")
        contact_ids = [uuid7() for _ in range(n_contacts)]
        _copy(
            cur,
            Contact,
            ["id", "workspace_id", "name", "language", "is_verified", "created_at", "updated_at"],
            (
                (pk, ws.pk, sealed("hotro_contact", "name", pk, f"Khách {i}"), "vi", False, start, start)
                for i, pk in enumerate(contact_ids)
            ),
        )
        conv_ids = [uuid7() for _ in range(n_conv)]
        conv_rows = []
        for i, pk in enumerate(conv_ids):
            last = start + dt.timedelta(seconds=rng.randrange(span))
            status = rng.choice(["open", "open", "pending", "resolved", "resolved", "resolved"])
            conv_rows.append(
                (pk, ws.pk, i + 1, inbox.pk, contact_ids[i % n_contacts], status, "none", last, "", start)
            )
        _copy(
            cur,
            Conversation,
            [
                "id",
                "workspace_id",
                "number",
                "inbox_id",
                "contact_id",
                "status",
                "priority",
                "last_activity_at",
                "channel_thread_id",
                "created_at",
            ],
            conv_rows,
        )
        print(f"  {n_contacts} contacts, {n_conv} conversations ({time.perf_counter() - t0:.0f} s)")
        token_key = keys.index_key(ws.pk, "token")

        def messages():
            for i in range(n):
                pk = uuid7()
                text = maker.sentence()
                tokens = {}
                for w in blind.words(text):
                    tokens.setdefault(blind._to_int(crypto.blind_hmac(token_key, w, 4)), None)
                at = start + dt.timedelta(seconds=rng.randrange(span))
                conv = conv_ids[i % n_conv]
                if i and i % 100_000 == 0:
                    print(f"  {i} messages ({time.perf_counter() - t0:.0f} s)")
                yield (
                    pk,
                    ws.pk,
                    conv,
                    inbox.pk,
                    "in" if i % 3 else "out",
                    sealed("hotro_message", "text", pk, text),
                    "",
                    "received",
                    list(tokens),
                    at,
                )

        _copy(
            cur,
            Message,
            [
                "id",
                "workspace_id",
                "conversation_id",
                "inbox_id",
                "direction",
                "text",
                "external_id",
                "status",
                "search_tokens",
                "created_at",
            ],
            messages(),
        )
        print(f"  {n} messages copied ({time.perf_counter() - t0:.0f} s); building the GIN index")
        cur.execute("SET maintenance_work_mem = '512MB'")
        cur.execute("CREATE INDEX message_search_tokens_gin ON hotro_message USING gin (search_tokens)")
        cur.execute("VACUUM ANALYZE hotro_message")
        cur.execute("VACUUM ANALYZE hotro_conversation")
    connection.close()
    info = {"version": DATASET_VERSION, "messages": n, "loaded_in_s": round(time.perf_counter() - t0)}
    (BENCH_DIR / "dataset.json").write_text(json.dumps(info))
    print(f"  loaded in {info['loaded_in_s']} s")


def pct(values, p):
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


RECENT_INDEX = "bench_message_recent"


def set_recent_index(present: bool) -> bool:
    """Add or drop an index on (workspace_id, created_at DESC); returns whether the schema as
    migrated already has an equivalent one (then nothing is changed)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'hotro_message' AND indexname <> %s "
            "AND indexdef ~ '\\(workspace_id, created_at( DESC)?\\)'",
            [RECENT_INDEX],
        )
        if cur.fetchone():
            return True
        if present:
            cur.execute(
                f"CREATE INDEX IF NOT EXISTS {RECENT_INDEX} ON hotro_message (workspace_id, created_at DESC)"
            )
        else:
            cur.execute(f"DROP INDEX IF EXISTS {RECENT_INDEX}")
        cur.execute("ANALYZE hotro_message")
    return False


def measure(n_queries: int) -> dict:
    from django.db import connection

    from hotro.conversations.models import Conversation, Message
    from hotro.privacy import search
    from hotro.tenancy.models import Workspace

    ws = Workspace.objects.get(slug="bench-search")
    total = Message.objects.filter(workspace_id=ws.pk).count()
    maker = MessageMaker(seed=77)
    rng = random.Random(3)
    queries = [maker.query(rng.choice([1, 1, 2, 2, 2, 3])) for _ in range(n_queries)]
    base = Conversation.objects.filter(workspace_id=ws.pk).order_by("-last_activity_at", "-id")

    def messages_page(q):
        page = list(search.search_messages(ws.pk, q).order_by("-created_at")[:50])
        return search.verify_messages(page, q)

    def conversations_page(q):
        return list(search.search_conversations(ws.pk, q, base)[:25])

    def open_conversations_page(q):  # the agent UI's default view: status "open"
        return list(search.search_conversations(ws.pk, q, base.filter(status="open"))[:25])

    def raw_page(q):
        tokens = search.tokens_for_query(ws.pk, q)
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id FROM hotro_message WHERE workspace_id = %s AND search_tokens @> %s::integer[] "
                "ORDER BY created_at DESC LIMIT 50",
                [ws.pk, tokens],
            )
            return cur.fetchall()

    for q in queries[:10]:  # warm the cache, as a running server's would be
        messages_page(q), conversations_page(q), open_conversations_page(q), raw_page(q)

    # common: more than 1% of the messages match (a page fills from the newest rows); rare: the rest
    common = [search.search_messages(ws.pk, q).count() > total // 100 for q in queries]
    results = {}
    hits = []
    for label, fn in (
        ("messages page", messages_page),
        ("conversations", conversations_page),
        ("conv. (open)", open_conversations_page),
        ("raw SQL", raw_page),
    ):
        times = []
        for q in queries:
            t = time.perf_counter()
            found = fn(q)
            times.append((time.perf_counter() - t) * 1000)
            if label == "messages page":
                hits.append(len(found))
        results[label] = times
    print(f"\n{n_queries} queries of 1-3 words over {total:,} encrypted messages; e.g. {queries[:4]}")
    print(f"results per messages page: median {pct(hits, 50):.0f}, {sum(1 for h in hits if h == 0)} empty")
    for label, times in results.items():
        print(
            f"  {label:14}: p50 {pct(times, 50):7.1f} ms   p95 {pct(times, 95):7.1f} ms   "
            f"max {max(times):7.1f} ms"
        )
        for kind, flag in (("common", True), ("rare", False)):
            some = [t for t, c in zip(times, common, strict=True) if c == flag]
            if some:
                print(
                    f"    {kind:6} ({len(some):3}): p50 {pct(some, 50):7.1f} ms   p95 {pct(some, 95):7.1f} ms"
                )
    p95 = pct(results["messages page"], 95)
    base95 = pct(results["raw SQL"], 95)
    print(f"p95 messages page {p95:.1f} ms vs goal 150 ms: {'PASS' if p95 < 150 else 'ABOVE GOAL'}")
    for label in ("conversations", "conv. (open)"):
        print(f"p95 {label} {pct(results[label], 95):.1f} ms vs goal 150 ms")
    print(f"app / raw index scan at p95: {p95 / base95:.2f}x")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--reload", action="store_true", help="drop and load the dataset again")
    args = parser.parse_args()
    if args.reload:
        drop_database()
    ensure_database()
    configure()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if not dataset_matches(args.messages):
        from django.db import connection

        from hotro.privacy import kek, keys

        connection.close()
        drop_database()
        kek.reset_kek_cache()
        keys.forget_cached_keys()
        ensure_database()
        call_command("migrate", verbosity=0)
        print(f"loading {args.messages:,} messages into {DB_NAME} ...")
        load(args.messages)
    else:
        print(f"reusing the {args.messages:,}-message dataset in {DB_NAME}")
    if set_recent_index(False):
        print("\nschema as migrated (it has an index on workspace_id, created_at):")
        measure(args.queries)
        return
    print("\n1) schema as migrated (GIN on search_tokens only):")
    measure(args.queries)
    set_recent_index(True)
    print(f"\n2) with {RECENT_INDEX} ON hotro_message (workspace_id, created_at DESC), proposed:")
    measure(args.queries)
    set_recent_index(False)


if __name__ == "__main__":
    main()
