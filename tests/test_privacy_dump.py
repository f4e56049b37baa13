"""Promise P2: a copy of the database and of the file store holds none of the customers' data.

Seeds 200 customers (names, e-mails, phones, addresses, attributes, channel identities), their
conversations and messages (Vietnamese and English) and attachments, commits, then scans
(a) the raw SQLite database (main file and WAL after a checkpoint; an in-memory test database is
copied out with ``VACUUM INTO``), (b) a full ``pg_dump`` of the PostgreSQL test database, and
(c) every file under ``HOTRO_FILE_ROOT`` for each known value: its UTF-8 bytes, lower-cased, the hex
form PostgreSQL prints for ``bytea`` and the ``\\uXXXX`` form of JSON.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from hotro.connectors.models import Inbox
from hotro.contacts.models import Contact, ContactIdentity
from hotro.conversations.models import Attachment, Conversation, Message
from hotro.privacy import blind, search, storage
from hotro.privacy.keys import ensure_workspace_keys
from hotro.tenancy.models import Workspace

N = 200
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
GIVEN = ["Thị Hương", "Văn Đức", "Ngọc Ánh", "Minh Khôi", "Thu Trang", "Quốc Bảo", "Thanh Hằng", "Đức Anh"]
STREETS = ["Lê Lợi", "Nguyễn Huệ", "Trần Hưng Đạo", "Hai Bà Trưng", "Điện Biên Phủ"]
TEXTS_VI = [
    "Chào shop, tôi muốn hoàn tiền cho đơn hàng {ref} vì giao sai màu áo",
    "Cho mình hỏi đơn {ref} bao giờ giao tới Quận Bình Thạnh ạ",
    "Sản phẩm trong đơn {ref} bị lỗi, tôi cần đổi trả gấp",
]
TEXTS_EN = [
    "Hello, my parcel {ref} arrived damaged and I would like a refund please",
    "Could you change the delivery address for order {ref} to my office",
]


def _people():
    for i in range(N):
        name = f"{FAMILY[i % 10]} {GIVEN[i % 8]} Khách{i:03d}"
        yield {
            "name": name,
            "email": f"Khach.Hang{i:03d}@Example-Shop.vn",
            "phone": f"09{(12345600 + i):08d}",
            "address": f"{100 + i} đường {STREETS[i % 5]}, Phường Bến Nghé, Quận {1 + i % 12}, TP HCM",
            "note": f"Khách VIP hạng vàng mã KH{i:05d}",
            "zalo": f"zalo-uid-{i:05d}-bmt",
            "subject": f"Khiếu nại đơn DH{i:05d} chưa giải quyết",
            "texts": [
                TEXTS_VI[i % 3].format(ref=f"DH{i:05d}"),
                TEXTS_EN[i % 2].format(ref=f"ORD-{i:05d}-EN"),
            ],
            "filename": f"hoa-don-vat-{i:05d}-{FAMILY[i % 10]}.pdf",
            "file": f"%PDF-1.4 Hóa đơn GTGT số {i:05d} — người mua {name}\n".encode() * 40,
        }


def _seed(ws) -> list[dict]:
    people = list(_people())
    with transaction.atomic():
        inbox = Inbox.objects.create(workspace=ws, connector="api", name="API inbox")
        for number, p in enumerate(people, start=1):
            contact = Contact.objects.create(
                workspace=ws,
                name=p["name"],
                email=p["email"],
                email_bidx=blind.email_index(ws.pk, p["email"]),
                phone=p["phone"],
                phone_bidx=blind.phone_index(ws.pk, p["phone"]),
                address=p["address"],
                attributes={"note": p["note"], "tier": "gold"},
            )
            identities = []
            for channel, address in (("email", p["email"]), ("phone", p["phone"]), ("zalo", p["zalo"])):
                identities.append(
                    ContactIdentity.objects.create(
                        workspace=ws,
                        contact=contact,
                        channel=channel,
                        address=address,
                        address_bidx=blind.address_index(ws.pk, channel, address),
                        address_key=blind.identity_key(ws.pk, channel, address),
                        display_name=p["name"],
                    )
                )
            conv = Conversation.objects.create(
                workspace=ws,
                number=number,
                inbox=inbox,
                contact=contact,
                subject=p["subject"],
                last_activity_at=timezone.now(),
            )
            for text in p["texts"]:
                msg = Message(
                    workspace=ws,
                    conversation=conv,
                    inbox=inbox,
                    direction="in",
                    sender_identity=identities[0],
                    text=text,
                    html=f"<p>{text}</p>",
                    extra={"from": p["email"], "name": p["name"]},
                    created_at=timezone.now(),
                )
                search.index_message(msg, extra=p["subject"])
                msg.save()
            Attachment.objects.create(
                workspace=ws,
                message=msg,
                filename=p["filename"],
                content_type="application/pdf",
                size=len(p["file"]),
                storage_key=storage.save_file(ws.pk, p["file"]),
            )
    return people


def _needles(people) -> dict[bytes, str]:
    """Byte patterns whose presence anywhere would mean a value is stored in the clear."""
    found: dict[bytes, str] = {}
    for p in people:
        values = [
            p["name"],
            p["email"],
            p["address"],
            p["note"],
            p["zalo"],
            p["subject"],
            p["filename"],
            *p["texts"],
        ]
        values += [p["phone"], "+84" + p["phone"][1:], "84" + p["phone"][1:]]
        for value in values:
            for form in {value, value.lower()}:
                raw = form.encode()
                found[raw] = value
                found[raw.hex().encode()] = value  # bytea as pg_dump prints it
                found[json.dumps(form)[1:-1].encode()] = value  # JSON with \\u escapes
        found[p["file"][:60]] = "file content"
        found[p["file"][:60].hex().encode()] = "file content"
    return found


PREFIX = 8


def _leaks(blob: bytes, needles: dict[bytes, str]) -> list[str]:
    """Labels of the needles found in ``blob``: one pass with an 8-byte window over a prefix table
    (searching each of thousands of needles separately would take minutes per dump)."""
    by_prefix: dict[bytes, list[bytes]] = {}
    for needle in needles:
        assert len(needle) >= PREFIX, needle
        by_prefix.setdefault(needle[:PREFIX], []).append(needle)
    found = set()
    for i in range(len(blob) - PREFIX + 1):
        group = by_prefix.get(blob[i : i + PREFIX])
        if group:
            found.update(needles[n] for n in group if blob.startswith(n, i))
    return sorted(found)[:5]


def _scan_files(root: Path, needles) -> tuple[int, list[str]]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return len(files), _leaks(b"\0".join(p.read_bytes() for p in files), needles)


@pytest.fixture
def seeded(settings, tmp_path, caplog):
    settings.HOTRO_FILE_ROOT = tmp_path / "files"
    caplog.set_level(logging.DEBUG)
    ws = Workspace.objects.create(slug="dump", name="Dump Test Shop")
    ensure_workspace_keys(ws.pk)
    people = _seed(ws)
    needles = _needles(people)
    # the data is really there and usable: counted, searchable, decryptable
    assert Message.objects.filter(workspace=ws).count() == 2 * N
    p = people[42]
    assert [c.name for c in search.find_contacts_by_phone(ws.pk, "+84 " + p["phone"][1:])] == [p["name"]]
    for q in ("hoan tien DH00042", "hoàn tiền dh00042"):
        assert search.search_messages(ws.pk, q).count() == 1
    att = Attachment.objects.get(workspace=ws, message__conversation__number=43)
    assert storage.open_file(ws.pk, att.storage_key) == p["file"]
    assert not _leaks(caplog.text.encode(), needles), "personal data reached the logs"
    return ws, people, needles


@pytest.mark.django_db(transaction=True)
def test_the_sqlite_database_and_file_store_hold_no_personal_data(seeded, tmp_path, settings):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite flavour (the PostgreSQL flavour runs pg_dump)")
    ws, people, needles = seeded
    files: list[Path] = []
    if connection.is_in_memory_db():
        copy = tmp_path / "copy.sqlite3"
        with connection.cursor() as cur:
            cur.execute("VACUUM INTO %s", [str(copy)])
        files.append(copy)
    else:
        with connection.cursor() as cur:
            cur.execute("PRAGMA wal_checkpoint(FULL)")
        main = Path(connection.settings_dict["NAME"])
        files += [f for f in (main, Path(f"{main}-wal"), Path(f"{main}-shm")) if f.exists()]
    blob = b"".join(f.read_bytes() for f in files)
    # sanity: the copy is the live database (row count) and the scanner would see clear text
    con = sqlite3.connect(files[0])
    assert con.execute("SELECT count(*) FROM hotro_contact").fetchone()[0] == N
    con.close()
    assert b"Dump Test Shop" in blob  # the (non-personal) workspace name is stored in the clear
    assert _leaks(blob + people[7]["email"].lower().encode(), needles) == [
        people[7]["email"]
    ]  # scanner works
    assert not _leaks(blob, needles)
    count, leaks = _scan_files(settings.HOTRO_FILE_ROOT, needles)
    assert count == N and not leaks


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_pg_dump_and_the_file_store_hold_no_personal_data(seeded, tmp_path, settings):
    ws, people, needles = seeded
    db = connection.settings_dict
    pg_dump = shutil.which("pg_dump") or "/usr/bin/pg_dump"
    out = tmp_path / "dump.sql"
    subprocess.run(
        [
            pg_dump,
            "--host",
            db.get("HOST") or "127.0.0.1",
            "--port",
            str(db.get("PORT") or 5432),
            "--username",
            db.get("USER") or "postgres",
            "--no-password",
            "--file",
            str(out),
            db["NAME"],
        ],
        check=True,
        env={"PGPASSWORD": db.get("PASSWORD") or "", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    blob = out.read_bytes()
    assert b"COPY public.hotro_contact" in blob and b"Dump Test Shop" in blob
    assert not _leaks(blob, needles)
    count, leaks = _scan_files(settings.HOTRO_FILE_ROOT, needles)
    assert count == N and not leaks
