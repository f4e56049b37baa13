"""Product comments widget API: posting by policy, threads, sorting, pages, votes, badges, limits."""

from __future__ import annotations

import pytest

from comments_helpers import ORIGIN, PRODUCT_ID, PRODUCT_URL, Visitor, _fresh_cache, make_inbox  # noqa: F401
from hotro.connectors.comments.actions import buyer_signature
from hotro.connectors.comments.models import Comment, CommentStatus, Product
from hotro.connectors.widget.identity import identity_secret, user_hash

pytestmark = pytest.mark.django_db


def test_it_publishes_at_once_when_the_policy_says_so(client, ws_a):
    inbox = make_inbox(ws_a, "publish")
    response = Visitor(client, inbox).post("Màu đỏ có size M không?")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "published"
    assert "published" in response.json()["message"]
    thread = Visitor(client, inbox, ip="203.0.113.9").thread()
    assert [c["text"] for c in thread["comments"]] == ["Màu đỏ có size M không?"]
    assert thread["comments"][0]["author"] == "Lan"
    product = Product.objects.get(inbox=inbox, external_id=PRODUCT_ID)
    assert product.url == PRODUCT_URL and product.title == "Áo dài lụa"


def test_it_keeps_comments_pending_and_shows_them_only_to_their_author(client, ws_a):
    inbox = make_inbox(ws_a, "pending")
    author = Visitor(client, inbox)
    response = author.post("Giao hàng mất mấy ngày?")
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert "reviewed" in response.json()["message"]
    mine = author.thread()["comments"]
    assert len(mine) == 1 and mine[0]["pending"] and mine[0]["mine"]
    assert Visitor(client, inbox, ip="203.0.113.9").thread()["comments"] == []


def test_it_auto_publishes_only_verified_visitors_under_publish_verified(client, ws_a):
    inbox = make_inbox(ws_a, "publish_verified")
    secret = identity_secret(inbox)
    guest = Visitor(client, inbox).post("Tôi là khách.")
    member = Visitor(client, inbox, ip="203.0.113.9", user_id="u-77", user_hash=user_hash(secret, "u-77"))
    signed = member.post("Tôi đã đăng nhập.")
    assert guest.json()["status"] == "pending"
    assert signed.json()["status"] == "published"
    assert signed.json()["comment"]["verified"] is True


def test_it_stores_comment_text_and_author_encrypted(client, ws_a):
    from django.db import connection

    inbox = make_inbox(ws_a)
    Visitor(client, inbox).post("Bí mật riêng tư", name="Nguyễn Thị Lan", email="lan@example.vn")
    with connection.cursor() as cursor:
        cursor.execute("SELECT text, author_name, author_email FROM hotro_comment")
        row = cursor.fetchone()
    raw = b"".join(bytes(v) for v in row)
    for plain in ("Bí mật riêng tư", "Nguyễn Thị Lan", "lan@example.vn"):
        assert plain.encode() not in raw
    comment = Comment.objects.get()
    assert comment.text == "Bí mật riêng tư" and comment.author_email == "lan@example.vn"


def test_it_threads_replies_under_their_root(client, ws_a):
    inbox = make_inbox(ws_a)
    first = Visitor(client, inbox)
    root_id = first.post("Áo này giặt máy được không?", kind="question").json()["comment"]["id"]
    second = Visitor(client, inbox, ip="203.0.113.9")
    reply = second.post("Mình giặt máy vẫn ổn.", name="Hoa", parent_id=root_id).json()["comment"]
    # replying to a reply joins the same thread (two levels, as on Facebook)
    third = Visitor(client, inbox, ip="203.0.113.10").post("Cảm ơn bạn!", name="Lan", parent_id=reply["id"])
    assert third.status_code == 201
    thread = Visitor(client, inbox, ip="203.0.113.11").thread()
    assert len(thread["comments"]) == 1 and thread["total"] == 1
    root = thread["comments"][0]
    assert root["kind"] == "question"
    assert [r["text"] for r in root["replies"]] == ["Mình giặt máy vẫn ổn.", "Cảm ơn bạn!"]
    assert (
        Comment.objects.get(pk=third.json()["comment"]["id"]).parent_id == Comment.objects.get(pk=root_id).pk
    )


def test_it_refuses_replies_to_hidden_or_unknown_comments(client, ws_a):
    inbox = make_inbox(ws_a)
    visitor = Visitor(client, inbox)
    root_id = visitor.post("Câu hỏi gốc").json()["comment"]["id"]
    Comment.objects.filter(pk=root_id).update(status=CommentStatus.HIDDEN)
    other = Visitor(client, inbox, ip="203.0.113.9")
    for parent in (root_id, "not-a-uuid", "0190b0a0-0000-7000-8000-000000000000"):
        response = other.post("Trả lời", parent_id=parent)
        assert response.status_code == 404
        assert "no longer available" in response.json()["message"]


def test_it_sorts_by_newest_and_by_most_helpful(client, ws_a):
    inbox = make_inbox(ws_a)
    ids = [
        Visitor(client, inbox, ip=f"203.0.113.{i}").post(f"Bình luận số {i}").json()["comment"]["id"]
        for i in range(3)
    ]
    # two voters find the oldest helpful, one finds the middle one helpful
    for n in range(2):
        assert Visitor(client, inbox, ip=f"192.0.2.{n}").vote(ids[0]).status_code == 200
    assert Visitor(client, inbox, ip="192.0.2.9").vote(ids[1]).status_code == 200
    reader = Visitor(client, inbox, ip="192.0.2.50")
    assert [c["id"] for c in reader.thread(sort="newest")["comments"]] == ids[::-1]
    helpful = reader.thread(sort="helpful")["comments"]
    assert [c["id"] for c in helpful] == [ids[0], ids[1], ids[2]]
    assert [c["helpful"] for c in helpful] == [2, 1, 0]


def test_it_paginates_threads(client, ws_a):
    inbox = make_inbox(ws_a)
    for i in range(12):
        assert Visitor(client, inbox, ip=f"203.0.113.{i}").post(f"Nhận xét {i}").status_code == 201
    reader = Visitor(client, inbox, ip="192.0.2.1")
    first, second = reader.thread(page=1), reader.thread(page=2)
    assert (first["total"], first["pages"], len(first["comments"])) == (12, 2, 10)
    assert len(second["comments"]) == 2 and second["page"] == 2
    assert {c["id"] for c in first["comments"]}.isdisjoint({c["id"] for c in second["comments"]})
    assert reader.thread(page=99)["page"] == 2  # past the end: the last page
    assert [c["text"] for c in second["comments"]] == ["Nhận xét 1", "Nhận xét 0"]


def test_it_counts_one_helpful_vote_per_visitor(client, ws_a):
    inbox = make_inbox(ws_a)
    comment_id = Visitor(client, inbox).post("Rất đẹp").json()["comment"]["id"]
    voter = Visitor(client, inbox, ip="192.0.2.1")
    first, again = voter.vote(comment_id), voter.vote(comment_id)
    assert first.json() == {"helpful": 1, "voted": True, "counted": True}
    assert again.json() == {"helpful": 1, "voted": True, "counted": False}
    assert voter.thread()["comments"][0]["voted"] is True
    assert Visitor(client, inbox, ip="192.0.2.2").vote(comment_id).json()["helpful"] == 2
    assert Comment.objects.get(pk=comment_id).helpful_count == 2


def test_a_verified_user_votes_once_across_devices(client, ws_a):
    inbox = make_inbox(ws_a)
    comment_id = Visitor(client, inbox).post("Rất đẹp").json()["comment"]["id"]
    digest = user_hash(identity_secret(inbox), "u-1")
    phone = Visitor(client, inbox, ip="192.0.2.1", user_id="u-1", user_hash=digest)
    laptop = Visitor(client, inbox, ip="192.0.2.2", user_id="u-1", user_hash=digest)
    assert phone.vote(comment_id).json()["counted"] is True
    assert laptop.vote(comment_id).json()["counted"] is False


def test_it_refuses_votes_on_own_or_unpublished_comments(client, ws_a):
    inbox = make_inbox(ws_a, "pending")
    author = Visitor(client, inbox)
    comment_id = author.post("Chờ duyệt").json()["comment"]["id"]
    assert Visitor(client, inbox, ip="192.0.2.1").vote(comment_id).status_code == 404
    Comment.objects.filter(pk=comment_id).update(status=CommentStatus.PUBLISHED)
    own = author.vote(comment_id)
    assert own.status_code == 400 and "your own comment" in own.json()["message"]


def test_it_shows_the_verified_buyer_badge_for_a_signed_purchase(client, ws_a):
    inbox = make_inbox(ws_a)
    secret = identity_secret(inbox)
    buyer = Visitor(client, inbox, user_id="u-9", user_hash=user_hash(secret, "u-9"))
    response = buyer.post("Vải mát, đáng tiền.", buyer_hash=buyer_signature(secret, "u-9", PRODUCT_ID))
    assert response.status_code == 201
    shown = Visitor(client, inbox, ip="192.0.2.1").thread()["comments"][0]
    assert shown["verified_buyer"] is True and shown["verified"] is True


@pytest.mark.parametrize(
    "case",
    ["guest_with_real_signature", "signature_for_other_product", "signature_for_other_user", "garbage"],
)
def test_it_refuses_a_forged_verified_buyer_badge(client, ws_a, case):
    inbox = make_inbox(ws_a)
    secret = identity_secret(inbox)
    if case == "guest_with_real_signature":  # copied from someone's page: no verified user to bind it to
        visitor = Visitor(client, inbox)
        signature = buyer_signature(secret, "u-9", PRODUCT_ID)
    else:
        visitor = Visitor(client, inbox, user_id="u-9", user_hash=user_hash(secret, "u-9"))
        signature = {
            "signature_for_other_product": buyer_signature(secret, "u-9", "sku-other"),
            "signature_for_other_user": buyer_signature(secret, "u-8", PRODUCT_ID),
            "garbage": "00" * 32,
        }[case]
    response = visitor.post("Tôi đã mua!", buyer_hash=signature)
    assert response.status_code == 403
    assert response.json()["code"] == "buyer_not_verified"
    assert "could not be verified" in response.json()["message"]
    assert not Comment.objects.exists()


def test_it_refuses_a_forged_identity(client, ws_a):
    inbox = make_inbox(ws_a)
    visitor = Visitor(client, inbox, user_id="u-1", user_hash=user_hash("not-the-secret", "u-1"))
    response = visitor.start()
    assert response.status_code == 403
    assert response.json()["code"] == "identity_not_verified"
    assert "as a guest" in response.json()["message"]


def test_it_limits_length_with_clear_messages(client, ws_a):
    inbox = make_inbox(ws_a)
    visitor = Visitor(client, inbox)
    too_long = visitor.post("a b " * 600)
    assert too_long.status_code == 400
    assert (
        too_long.json()["fields"]["text"]
        == "Your comment is 2001 characters long; shorten it to at most 2000."
    )
    short = visitor.post("a")
    assert short.json()["message"] == "Write at least 2 characters."
    no_name = visitor.post("Nội dung ổn", name="  ")
    assert no_name.json()["fields"] == {"name": "Enter the name to show with your comment."}
    bad_email = visitor.post("Nội dung ổn", email="not-an-address")
    assert bad_email.json()["fields"] == {"email": "Enter a valid e-mail address, or leave it empty."}
    assert not Comment.objects.exists()


def test_it_answers_in_vietnamese_when_the_page_is_vietnamese(client, ws_a):
    inbox = make_inbox(ws_a)
    response = Visitor(client, inbox).post("a", lang="vi")
    assert response.status_code == 400
    assert response.json()["message"] == "Vui lòng viết ít nhất 2 ký tự."


def test_it_limits_links(client, ws_a):
    inbox = make_inbox(ws_a)
    visitor = Visitor(client, inbox)
    two = visitor.post("Xem http://a.example/x và www.b.example.com/y")
    assert two.status_code == 400
    assert two.json()["message"] == "A comment may contain at most 1 link(s); remove some and try again."
    one = visitor.post("Xem hướng dẫn tại https://help.example/giat")
    assert one.status_code == 201
    # a guest's link is held for review even when comments publish at once
    assert one.json()["status"] == "pending"
    from hotro.connectors.comments.inboxes import update_comments_settings

    update_comments_settings(inbox, max_links=0)
    none = Visitor(client, inbox, ip="192.0.2.1").post("Ghé shop.example.com nhé")
    assert none.json()["message"] == "Links are not allowed in comments; remove them and try again."


def test_it_marks_obvious_spam(client, ws_a):
    from hotro.connectors.comments.inboxes import update_comments_settings

    inbox = make_inbox(ws_a)
    update_comments_settings(inbox, blocked_words=["casino"])
    bot = Visitor(client, inbox).post("Tuyệt vời", website="http://spam.example")  # honeypot filled
    assert bot.status_code == 201 and bot.json()["status"] == "pending"  # not told it was caught
    assert Comment.objects.get(pk=bot.json()["comment"]["id"]).status == CommentStatus.SPAM
    word = Visitor(client, inbox, ip="192.0.2.1").post("Chơi CASINO online ngay")
    assert Comment.objects.get(pk=word.json()["comment"]["id"]).status == CommentStatus.SPAM
    shouting = Visitor(client, inbox, ip="192.0.2.2").post("MUA NGAY HÔM NAY GIẢM GIÁ CỰC SỐC!!!!!!!!!!!!!!")
    assert Comment.objects.get(pk=shouting.json()["comment"]["id"]).status == CommentStatus.SPAM
    fine = Visitor(client, inbox, ip="192.0.2.3").post("Sản phẩm tốt, giao nhanh.")
    assert fine.json()["status"] == "published"
    assert [c["text"] for c in Visitor(client, inbox, ip="192.0.2.4").thread()["comments"]] == [
        "Sản phẩm tốt, giao nhanh."
    ]


def test_it_refuses_the_same_comment_twice(client, ws_a):
    inbox = make_inbox(ws_a)
    visitor = Visitor(client, inbox)
    assert visitor.post("Hàng về chưa shop?").status_code == 201
    again = visitor.post("hàng  về chưa SHOP?")
    assert again.status_code == 409 and again.json()["message"] == "You already posted this comment."


def test_it_rate_limits_per_visitor_and_per_ip(client, ws_a):
    inbox = make_inbox(ws_a)
    visitor = Visitor(client, inbox)
    for i in range(5):
        assert visitor.post(f"Câu số {i} về sản phẩm").status_code == 201
    limited = visitor.post("Câu thứ sáu")
    assert limited.status_code == 429
    assert limited.json()["message"] == "Too many requests in a short time; wait 10 minutes and try again."
    assert limited["Retry-After"] == "600"
    # other visitors on the same address: the per-IP limit (20 an hour) stops them too
    for n in range(3):
        other = Visitor(client, inbox)
        for i in range(5):
            other.post(f"Khách {n} câu {i}")
    stopped = Visitor(client, inbox).post("Một câu mới")
    assert stopped.status_code == 429
    assert Visitor(client, inbox, ip="192.0.2.99").post("Từ địa chỉ khác").status_code == 201


def test_it_refuses_writes_from_other_websites(client, ws_a):
    inbox = make_inbox(ws_a)
    evil = Visitor(client, inbox, origin="https://evil.example")
    response = evil.start()
    assert response.status_code == 403
    assert response.json()["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response
    no_origin = Visitor(client, inbox, origin="")
    assert no_origin.start().status_code == 403
    # the product page must be on the shop's own site
    visitor = Visitor(client, inbox)
    off_site = visitor.post("Xin chào", product_url="https://evil.example/p/1")
    assert off_site.status_code == 400 and off_site.json()["code"] == "bad_product"


def test_it_answers_cors_only_for_allowed_origins(client, ws_a):
    inbox = make_inbox(ws_a)
    url = f"/comments/api/{inbox.public_key}/comments"
    ok = client.options(url, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert ok.status_code == 204 and ok["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Hotro-Visitor" in ok["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in ok
    assert client.options(url, headers={"Origin": "https://evil.example"}).status_code == 403
    read = client.get(url + f"?product_id={PRODUCT_ID}", headers={"Origin": ORIGIN})
    assert read.status_code == 200 and read["Access-Control-Allow-Origin"] == ORIGIN
    assert (
        client.get(url + f"?product_id={PRODUCT_ID}", headers={"Origin": "https://evil.example"}).status_code
        == 403
    )


def test_it_needs_a_visitor_token_to_write(client, ws_a):
    inbox = make_inbox(ws_a)
    visitor = Visitor(client, inbox)
    visitor.token = "forged-token"
    response = visitor.send("comments?lang=en", {"product_id": PRODUCT_ID, "text": "x"})
    assert response.status_code == 401 and "reload the page" in response.json()["message"]


def test_a_token_of_another_inbox_does_not_work(client, ws_a, ws_b):
    mine, theirs = make_inbox(ws_a), make_inbox(ws_b)
    visitor = Visitor(client, theirs)
    visitor.start()
    visitor.inbox = mine
    response = visitor.send("comments?lang=en", {"product_id": PRODUCT_ID, "text": "Xin chào", "name": "A"})
    assert response.status_code == 401


def test_it_never_shows_email_or_keys_and_returns_html_as_text(client, ws_a):
    inbox = make_inbox(ws_a)
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    Visitor(client, inbox).post(payload, name="<b>Lan</b>", email="lan@example.vn")
    response = client.get(f"/comments/api/{inbox.public_key}/comments?product_id={PRODUCT_ID}")
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    shown = response.json()["comments"][0]
    assert shown["text"] == payload and shown["author"] == "<b>Lan</b>"  # data, rendered with textContent
    body = response.content.decode()
    assert "lan@example.vn" not in body and "author_key" not in body and "visitor:" not in body


def test_the_loader_script_carries_only_its_configuration(client, ws_a):
    inbox = make_inbox(ws_a)
    response = client.get(f"/comments/{inbox.public_key}.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    body = response.content.decode()
    assert f'"key": "{inbox.public_key}"' in body
    assert "/comments/api/" in body and "attachShadow" in body
    assert "innerHTML" not in body and "eval(" not in body
    assert identity_secret(inbox) not in body
    assert client.get("/comments/unknown-key.js").status_code == 404


def test_an_unknown_product_has_an_empty_thread(client, ws_a):
    inbox = make_inbox(ws_a)
    thread = Visitor(client, inbox).thread(product_id="never-commented")
    assert thread["comments"] == [] and thread["total"] == 0
    assert not Product.objects.exists()
