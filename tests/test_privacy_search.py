"""Search over encrypted rows: keywords with and without diacritics, contacts by e-mail and phone."""

from __future__ import annotations

import pytest
from django.utils import timezone

from hotro.connectors.models import Inbox
from hotro.contacts.models import Contact, ContactIdentity
from hotro.conversations.models import Conversation, Message
from hotro.privacy import blind, search

pytestmark = pytest.mark.django_db


@pytest.fixture
def ws_a(db):
    return _workspace("alpha")


@pytest.fixture
def ws_b(db):
    return _workspace("beta")


def _workspace(slug):
    """A workspace with its keys but no owner account (skips a slow Argon2 hash per test)."""
    from hotro.privacy.keys import ensure_workspace_keys
    from hotro.tenancy.models import Workspace

    ws = Workspace.objects.create(slug=slug, name=slug.title())
    ensure_workspace_keys(ws.pk)
    return ws


def _conversation(ws, number=1, status="open"):
    inbox = Inbox.objects.filter(workspace=ws).first() or Inbox.objects.create(
        workspace=ws, connector="api", name="API"
    )
    contact = Contact.objects.create(workspace=ws, name="Khách")
    return Conversation.objects.create(
        workspace=ws,
        number=number,
        inbox=inbox,
        contact=contact,
        status=status,
        last_activity_at=timezone.now(),
    )


def _message(conv, text="", html=""):
    msg = Message(
        workspace_id=conv.workspace_id,
        conversation=conv,
        inbox_id=conv.inbox_id,
        direction="in",
        text=text or None,
        html=html or None,
        created_at=timezone.now(),
    )
    search.index_message(msg)
    msg.save()
    return msg


def test_it_finds_words_with_or_without_diacritics(ws_a):
    conv = _conversation(ws_a)
    accented = _message(conv, "Tôi muốn HOÀN TIỀN cho đơn hàng số 12")
    plain = _message(conv, "cho minh hoan tien nhe")
    _message(conv, "Giao hàng chậm quá")
    for q in ("hoàn tiền", "hoan tien", "Hoàn Tien", "  tiền   hoàn "):
        found = set(search.search_messages(ws_a.pk, q).values_list("pk", flat=True))
        assert found == {accented.pk, plain.pk}, q
    assert list(search.search_messages(ws_a.pk, "đơn hàng 12")) == [accented]
    assert list(search.search_messages(ws_a.pk, "don hang")) == [accented]
    assert not search.search_messages(ws_a.pk, "hoàn tiền ngay").exists()
    assert not search.search_messages(ws_a.pk, "  ,.;  ").exists()


def test_html_only_messages_are_indexed_by_their_text(ws_a):
    conv = _conversation(ws_a)
    msg = _message(conv, html="<p>Yêu cầu <b>đổi trả</b> &amp; bảo hành</p>")
    assert list(search.search_messages(ws_a.pk, "doi tra bao hanh")) == [msg]
    assert not search.search_messages(ws_a.pk, "b").exists()  # tags are not words


def test_search_stays_inside_the_workspace(ws_a, ws_b):
    _message(_conversation(ws_a), "hoàn tiền")
    assert not search.search_messages(ws_b.pk, "hoàn tiền").exists()
    assert not search.search_messages(ws_b.pk, "hoàn tiền", Message.objects.all()).exists()


def test_verification_drops_chance_token_matches(ws_a):
    conv = _conversation(ws_a)
    real = _message(conv, "hoàn tiền")
    forged = _message(conv, "chúc mừng năm mới")
    # a chance HMAC collision, simulated: the row carries the query's tokens but not its words
    Message.objects.filter(pk=forged.pk).update(search_tokens=search.tokens_for_query(ws_a.pk, "hoàn tiền"))
    candidates = list(search.search_messages(ws_a.pk, "hoan tien").order_by("pk"))
    assert {m.pk for m in candidates} == {real.pk, forged.pk}
    assert search.verify_messages(candidates, "hoan tien") == [real]
    assert search.message_matches(real, "HOÀN") and not search.message_matches(forged, "hoàn")


def test_conversation_search_combines_with_list_filters(ws_a):
    open_conv = _conversation(ws_a, 1, "open")
    resolved = _conversation(ws_a, 2, "resolved")
    other = _conversation(ws_a, 3, "open")
    _message(open_conv, "hoàn tiền giúp tôi")
    _message(open_conv, "hoàn tiền lần nữa")
    _message(resolved, "Hoan tien")
    _message(other, "cảm ơn")
    base = Conversation.objects.filter(status="open").order_by("-last_activity_at")
    found = search.search_conversations(ws_a.pk, "hoàn tiền", base)
    assert list(found) == [open_conv]  # once, even with two matching messages
    everything = search.search_conversations(ws_a.pk, "hoan tien", Conversation.objects.all())
    assert set(everything) == {open_conv, resolved}
    assert not search.search_conversations(ws_a.pk, "", Conversation.objects.all()).exists()


def test_conversation_search_pages_newest_activity_first_within_the_workspace(ws_a, ws_b):
    from datetime import timedelta

    from hotro.conversations import keyset

    now = timezone.now()
    matching = []
    for n in range(1, 8):
        conv = _conversation(ws_a, n, "open" if n % 2 else "pending")
        Conversation.objects.filter(pk=conv.pk).update(last_activity_at=now - timedelta(minutes=n))
        _message(conv, "hoàn tiền đơn này" if n != 4 else "giao hàng chậm")
        if n != 4:
            matching.append(conv.pk)
    intruder = _conversation(ws_b, 1)
    forged = _message(intruder, "chúc mừng")  # carries ws_a's tokens: still not ws_a's to list
    Message.objects.filter(pk=forged.pk).update(search_tokens=search.tokens_for_query(ws_a.pk, "hoàn tiền"))
    base = Conversation.objects.all().order_by("-last_activity_at", "-id")
    pages, position = [], None
    while True:
        qs = search.search_conversations(ws_a.pk, "hoan tien", base)
        if position is not None:
            qs = qs.filter(keyset.after(("last_activity_at", "pk"), position, descending=True))
        page = list(qs[:2])
        if not page:
            break
        pages.append([c.pk for c in page])
        position = (page[-1].last_activity_at, page[-1].pk)
    assert [pk for page in pages for pk in page] == matching  # each once, in order, none skipped
    assert [len(p) for p in pages] == [2, 2, 2]
    pending = search.search_conversations(ws_a.pk, "hoàn tiền", base.filter(status="pending"))
    assert [c.number for c in pending] == [2, 6]


@pytest.mark.postgres
def test_conversation_lists_have_indexes_for_searching_in_activity_order(ws_a):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)",
            [["message_thread", "conv_activity"]],
        )
        defs = dict(cur.fetchall())
    assert "(conversation_id, created_at) INCLUDE (search_tokens)" in defs["message_thread"]
    assert "(workspace_id, last_activity_at DESC, id DESC)" in defs["conv_activity"]


PHONE_SPELLINGS = ["0901 234 567", "+84 90 123 4567", "84901234567", "090-123-4567", "(+84) 901.234.567"]


def _contact(ws, **kw):
    email, phone = kw.get("email"), kw.get("phone")
    return Contact.objects.create(
        workspace=ws,
        name=kw.get("name", "Lan"),
        email=email,
        email_bidx=blind.email_index(ws.pk, email) if email else None,
        phone=phone,
        phone_bidx=blind.phone_index(ws.pk, phone) if phone else None,
    )


@pytest.mark.parametrize("stored", PHONE_SPELLINGS[:3])
def test_it_finds_a_contact_by_any_spelling_of_a_phone_number(ws_a, ws_b, stored):
    lan = _contact(ws_a, phone=stored)
    _contact(ws_a, phone="0912 345 678")
    _contact(ws_b, phone=stored)
    for spelling in PHONE_SPELLINGS:
        assert search.find_contacts_by_phone(ws_a.pk, spelling) == [lan], spelling
    assert search.find_contacts_by_phone(ws_a.pk, "0901 234 568") == []
    assert search.find_contacts_by_phone(ws_a.pk, "not a number") == []


def test_it_finds_a_contact_by_email_ignoring_case(ws_a, ws_b):
    an = _contact(ws_a, email="An.Nguyen@Example.VN")
    _contact(ws_b, email="an.nguyen@example.vn")
    assert search.find_contacts_by_email(ws_a.pk, " an.nguyen@example.vn ") == [an]
    assert search.find_contacts_by_email(ws_a.pk, "AN.NGUYEN@EXAMPLE.VN") == [an]
    assert search.find_contacts_by_email(ws_a.pk, "an.nguyen@example.com") == []
    assert search.find_contacts_by_email(ws_a.pk, "") == []


def test_lookup_confirms_candidates_by_decrypting(ws_a):
    """Contacts sharing a blind index value by chance are not returned."""
    an = _contact(ws_a, email="an@example.vn")
    stranger = _contact(ws_a, email="binh@example.vn")
    Contact.objects.filter(pk=stranger.pk).update(email_bidx=an.email_bidx)  # a coincidence
    assert search.find_contacts_by_email(ws_a.pk, "an@example.vn") == [an]


def test_it_finds_identities_by_channel_address(ws_a):
    lan = _contact(ws_a, name="Lan")
    for channel, address in (("phone", "0901234567"), ("email", "Lan@Example.vn"), ("zalo", "zalo-uid-42")):
        ContactIdentity.objects.create(
            workspace=ws_a,
            contact=lan,
            channel=channel,
            address=address,
            address_bidx=blind.address_index(ws_a.pk, channel, address),
            address_key=blind.identity_key(ws_a.pk, channel, address),
        )
    assert search.find_contacts_by_identity(ws_a.pk, "phone", "+84 90 123 4567") == [lan]
    assert search.find_contacts_by_identity(ws_a.pk, "email", "lan@example.VN") == [lan]
    assert search.find_contacts_by_identity(ws_a.pk, "zalo", "zalo-uid-42") == [lan]
    assert search.find_contacts_by_identity(ws_a.pk, "zalo", "zalo-uid-43") == []
    assert search.find_contacts_by_phone_anywhere(ws_a.pk, "84901234567") == [lan]
    [identity] = search.find_identities(ws_a.pk, "email", "LAN@example.vn")
    assert identity.channel == "email"
