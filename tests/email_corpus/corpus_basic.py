# ruff: noqa: E501  (test data: long literal lines read better unbroken)
"""Corpus part 1: encodings, headers, MIME shapes, attachments, broken input."""

from __future__ import annotations

import base64

from corpus_lib import (
    DATE,
    VI,
    VI_SUBJ,
    add,
    add_mime,
    b64,
    cp1258,
    ew,
    html_part,
    multipart,
    qp,
    std,
    text_part,
)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ICS = (
    "BEGIN:VCALENDAR\nVERSION:2.0\nMETHOD:REQUEST\nPRODID:-//Microsoft Corporation//Outlook 16.0//EN\n"
    "BEGIN:VEVENT\nUID:040000008200E00074C5B7101A82E008\nDTSTART:20260110T030000Z\nDTEND:20260110T040000Z\n"
    "SUMMARY:Họp xử lý khiếu nại\nORGANIZER:mailto:an.nguyen@gmail.com\nEND:VEVENT\nEND:VCALENDAR\n"
)


def encodings() -> None:
    add(
        "plain_ascii",
        std("Where is my order?", "John Smith <john@example.com>"),
        "Content-Type: text/plain; charset=us-ascii\n\nHello,\n\nMy order 1234 has not arrived yet.\n\nJohn\n",
        subject="Where is my order?",
        from_email="john@example.com",
        from_name="John Smith",
        to=["support@shop.vn"],
        message_id="msg-1@mail.gmail.com",
        date="2026-01-05T03:00:00+00:00",
        text_contains=["My order 1234 has not arrived yet."],
        new_contains=["My order 1234"],
        defects=False,
    )
    add(
        "vi_utf8_qp",
        std(VI_SUBJ),
        text_part(VI + "\n\nTrân trọng,\nAn"),
        subject=VI_SUBJ,
        from_name="Nguyễn Văn An",
        from_email="an.nguyen@gmail.com",
        text_contains=[VI, "Trân trọng,"],
        new_contains=["Trân trọng,\nAn"],
    )
    add(
        "vi_utf8_base64",
        std("Hỏi về bảo hành", "Trần Thị Bích <bich.tran@yahoo.com.vn>"),
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n"
        + b64("Sản phẩm bị lỗi sau 2 ngày sử dụng, tôi muốn đổi trả.\n".encode()),
        subject="Hỏi về bảo hành",
        from_name="Trần Thị Bích",
        text_contains=["Sản phẩm bị lỗi sau 2 ngày sử dụng, tôi muốn đổi trả."],
    )
    # UTF-8 split in the middle of a character across two encoded words (some webmails do this).
    raw = "Cảm ơn shop nhiều lắm".encode()
    split = (
        f"=?UTF-8?B?{base64.b64encode(raw[:4]).decode()}?=\n =?UTF-8?B?{base64.b64encode(raw[4:]).decode()}?="
    )
    add(
        "subject_split_multibyte",
        std("x").replace("Subject: x", f"Subject: Re: {split}"),
        text_part("Cảm ơn."),
        subject="Re: Cảm ơn shop nhiều lắm",
    )
    add(
        "subject_q_encoded",
        std("x").replace(
            "Subject: x", "Subject: =?utf-8?Q?H=E1=BB=8Fi_v=E1=BB=81_=C4=91=C6=A1n_h=C3=A0ng?= #55"
        ),
        text_part("Chào shop"),
        subject="Hỏi về đơn hàng #55",
    )
    add(
        "from_encoded_in_quotes",
        std("Help", '"=?utf-8?B?TMOqIEhvw6BuZw==?=" <Hoang.Le@Outlook.COM>'),
        text_part("Xin chào"),
        from_name="Lê Hoàng",
        from_email="hoang.le@outlook.com",
    )
    add(
        "raw_utf8_headers",
        "From: Phạm Minh <minh@fpt.vn>\nTo: support@shop.vn\nSubject: Giao hàng chậm quá\n"
        f"Date: {DATE}\nMessage-ID: <raw8bit@fpt.vn>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit",
        "Tôi đã đợi 10 ngày rồi.\n",
        subject="Giao hàng chậm quá",
        from_name="Phạm Minh",
        text_contains=["Tôi đã đợi 10 ngày rồi."],
    )
    add(
        "mislabelled_ascii_is_utf8",
        std("Khiếu nại", "Võ Thanh <thanh@vnn.vn>"),
        "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 8bit\n\n"
        "Hàng giao sai màu, tôi đặt màu đỏ.\n",
        text_contains=["Hàng giao sai màu, tôi đặt màu đỏ."],
        defects=True,
    )
    add(
        "mislabelled_latin1_is_utf8",
        std("Đổi hàng", "Võ Thanh <thanh@vnn.vn>"),
        "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
        + qp("Tôi muốn đổi size áo từ M sang L.\n"),
        text_contains=["Tôi muốn đổi size áo từ M sang L."],
        text_not_contains=["Ã"],
        defects=True,
    )
    add(
        "latin1_really_latin1",
        std("Commande", "Émile Zola <emile@example.fr>"),
        "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
        + qp("Ma commande n'est pas arrivée. Merci d'avance, très cordialement.\n", "latin-1"),
        from_name="Émile Zola",
        text_contains=["Ma commande n'est pas arrivée. Merci d'avance, très cordialement."],
    )
    vi1258 = "Tôi cần hỗ trợ gấp: máy giặt không hoạt động, đã thử khởi động lại nhiều lần."
    add(
        "windows1258_declared",
        std("Máy giặt hỏng", "Đặng Quốc Việt <viet@vnpt.vn>"),
        b"Content-Type: text/plain; charset=windows-1258\nContent-Transfer-Encoding: 8bit\n\n"
        + cp1258(vi1258),
        text_contains=[vi1258],
    )
    add(
        "windows1258_labelled_latin1",
        std("Máy giặt hỏng", "Đặng Quốc Việt <viet@vnpt.vn>"),
        b"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n" + cp1258(vi1258),
        text_contains=[vi1258],
        defects=True,
    )
    add(
        "windows1258_no_charset",
        std("Máy giặt hỏng", "Đặng Quốc Việt <viet@vnpt.vn>"),
        b"Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\n" + cp1258(vi1258),
        text_contains=[vi1258],
    )
    add(
        "windows1258_html_qp",
        std("Bảo hành", "Đặng Quốc Việt <viet@vnpt.vn>"),
        b"Content-Type: text/html; charset=windows-1258\nContent-Transfer-Encoding: quoted-printable\n\n"
        + __import__("quopri").encodestring(b"<p>" + cp1258("Bảo hành còn hiệu lực không ạ?") + b"</p>"),
        text_contains=["Bảo hành còn hiệu lực không ạ?"],
        html_contains=["Bảo hành còn hiệu lực không ạ?"],
        text_from_html=True,
    )
    wrong_subject = "=?iso-8859-1?Q?" + qp("Hóa đơn VAT").replace("=\n", "").replace(" ", "_") + "?="
    add(
        "subject_word_mislabelled",
        std("x").replace("Subject: x", f"Subject: {wrong_subject}"),
        text_part("Xin gửi hóa đơn."),
        subject="Hóa đơn VAT",
    )
    ja = "ご注文の商品がまだ届いていません。確認をお願いします。"
    add(
        "japanese_iso2022jp",
        std("x", "山田太郎 <yamada@example.jp>")
        .replace("Subject: x", f"Subject: {ew('注文について', 'ISO-2022-JP', 'iso2022_jp')}")
        .replace("From: 山田太郎", f"From: {ew('山田太郎', 'ISO-2022-JP', 'iso2022_jp')}"),
        b"Content-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: 7bit\n\n"
        + (ja + "\n").encode("iso2022_jp"),
        subject="注文について",
        from_name="山田太郎",
        text_contains=[ja],
    )
    add(
        "japanese_shift_jis_html",
        std("x", "Sato <sato@example.jp>").replace(
            "Subject: x", f"Subject: {ew('返品', 'Shift_JIS', 'shift_jis')}"
        ),
        b"Content-Type: text/html; charset=Shift_JIS\nContent-Transfer-Encoding: base64\n\n"
        + b64("<html><body><p>返品の手続きを教えてください。</p></body></html>".encode("shift_jis")).encode(),
        subject="返品",
        text_contains=["返品の手続きを教えてください。"],
        text_from_html=True,
    )
    add(
        "chinese_gb2312",
        std("x", "Li Wei <liwei@example.cn>").replace("Subject: x", f"Subject: {ew('发票问题', 'gb2312')}"),
        b"Content-Type: text/plain; charset=gb2312\nContent-Transfer-Encoding: base64\n\n"
        + b64("请尽快给我开发票。谢谢！\n".encode("gb18030")).encode(),
        subject="发票问题",
        text_contains=["请尽快给我开发票。谢谢！"],
    )
    add(
        "russian_koi8r",
        std("x", "Ivan <ivan@example.ru>").replace("Subject: x", f"Subject: {ew('Заказ', 'koi8-r')}"),
        b"Content-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: 8bit\n\n"
        + "Где мой заказ?\n".encode("koi8-r"),
        subject="Заказ",
        text_contains=["Где мой заказ?"],
    )
    add(
        "unknown_charset_utf8",
        std("Cần tư vấn"),
        "Content-Type: text/plain; charset=x-user-defined-bogus\nContent-Transfer-Encoding: 8bit\n\n"
        "Tư vấn giúp tôi gói cước.\n",
        text_contains=["Tư vấn giúp tôi gói cước."],
    )
    add(
        "korean_ks_c_5601",
        std("x", "Kim <kim@example.kr>").replace(
            "Subject: x", f"Subject: {ew('배송 문의', 'ks_c_5601-1987', 'cp949')}"
        ),
        b"Content-Type: text/plain; charset=ks_c_5601-1987\nContent-Transfer-Encoding: base64\n\n"
        + b64("배송이 언제 되나요?\n".encode("cp949")).encode(),
        subject="배송 문의",
        text_contains=["배송이 언제 되나요?"],
    )


def broken() -> None:
    add(
        "bad_base64",
        std("Ảnh lỗi"),
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        + b64("Ảnh sản phẩm bị vỡ.".encode())[:-3]
        + "!!\n",
        text_contains=["Ảnh sản phẩm bị v"],
        defects=True,
    )
    add(
        "qp_soft_breaks",
        std("Long line"),
        text_part("Đây là một dòng rất dài " * 12 + "kết thúc."),
        text_contains=["Đây là một dòng rất dài " * 12 + "kết thúc."],
    )
    add(
        "format_flowed",
        std("Flowed", "Mozilla User <moz@example.org>"),
        "Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\nContent-Transfer-Encoding: 8bit\n\n"
        "This is a long paragraph that the client wrapped at seventy-two chara \ncters using soft line breaks.\n\n"
        "Second paragraph.\n",
        text_contains=[
            "This is a long paragraph that the client wrapped at seventy-two characters using soft line breaks."
        ],
    )
    add(
        "no_content_type_8bit",
        "From: an.nguyen@gmail.com\nTo: support@shop.vn\nSubject: test\nDate: "
        + DATE
        + "\nMessage-ID: <nct@x>",
        "Không có Content-Type nhưng là UTF-8.\n",
        from_email="an.nguyen@gmail.com",
        from_name="",
        text_contains=["Không có Content-Type nhưng là UTF-8."],
    )
    add(
        "no_message_id_no_date",
        "From: John <john@example.com>\nTo: support@shop.vn\nSubject: no ids",
        "Hello without ids\n",
        message_id="",
        date=None,
        text_contains=["Hello without ids"],
        defects=True,
    )
    add(
        "bad_date",
        "From: John <john@example.com>\nTo: support@shop.vn\nSubject: bad date\nDate: Thứ Hai, 32/13/2026 25:61\n"
        "Message-ID: <baddate@x>",
        "Body\n",
        date=None,
        defects=True,
    )
    add(
        "naive_date_utc",
        "From: John <john@example.com>\nTo: support@shop.vn\nSubject: naive\nDate: 5 Jan 2026 10:00:00 -0000\n"
        "Message-ID: <naive@x>",
        "Body\n",
        date="2026-01-05T10:00:00+00:00",
    )
    add(
        "binary_garbage",
        "X-Nothing: \x01\x02",
        bytes(range(256)) * 4,
        subject="",
        message_id="",
        defects=True,
    )
    add("empty_body", std("Trống"), "", subject="Trống", text_contains=[], new="")
    add(
        "headers_only",
        "From: a@b.c\nSubject: only headers\nMessage-ID: <ho@x>",
        b"",
        subject="only headers",
        new="",
    )
    add(
        "empty_multipart",
        std("Empty parts") + '\nContent-Type: multipart/mixed; boundary="zz"',
        "--zz--\n",
        new="",
    )
    add(
        "missing_final_boundary",
        std("No end") + '\nContent-Type: multipart/mixed; boundary="b1"',
        "--b1\nContent-Type: text/plain; charset=utf-8\n\nPhần thân không có ranh giới cuối.\n",
        text_contains=["Phần thân không có ranh giới cuối."],
        defects=True,
    )
    add(
        "wrong_boundary",
        std("Wrong boundary") + '\nContent-Type: multipart/alternative; boundary="declared"',
        "--other\nContent-Type: text/plain\n\nHidden text\n--other--\n",
        text_contains=["Hidden text"],
        defects=True,
    )
    add(
        "many_recipients_folded",
        "From: Boss <boss@company.vn>\nTo: support@shop.vn,\n  sales@shop.vn,\n\t"
        + ew("Kế toán")
        + " <ketoan@shop.vn>\nCc: "
        + ", ".join(f"user{i}@company.vn" for i in range(12))
        + "\nReply-To: =?utf-8?Q?Tr=E1=BB=A3_l=C3=BD?= <assistant@company.vn>\nSubject: Hợp đồng\n"
        + f"Date: {DATE}\nMessage-ID: <many@company.vn>",
        "Xem hợp đồng.\n",
        to=["support@shop.vn", "sales@shop.vn", "ketoan@shop.vn"],
        cc=[f"user{i}@company.vn" for i in range(12)],
        reply_to=["assistant@company.vn"],
        reply_to_name="Trợ lý",
    )
    add(
        "address_forms",
        "From: john@example.com (John Doe)\nTo: undisclosed-recipients:;\nCc: Shop Support <SUPPORT@SHOP.VN>\n"
        f"Subject: forms\nDate: {DATE}\nMessage-ID: <forms@x>",
        "Body\n",
        from_email="john@example.com",
        from_name="John Doe",
        to=[],
        cc=["support@shop.vn"],
    )
    add(
        "references_messy",
        std("Re: history").replace("Message-ID: <msg-1@mail.gmail.com>", "Message-ID: <r3@x>")
        + "\nIn-Reply-To: <r2@x> (John's message)\nReferences: <r1@x>\n <r2@x>,<r2@x>",
        "ok\n",
        in_reply_to=["r2@x"],
        references=["r1@x", "r2@x"],
    )


def shapes() -> None:
    add_mime(
        "alternative",
        std("Alt"),
        multipart(
            "alternative", "alt1", [text_part("Xin chào bản text"), html_part("<p>Xin chào <b>HTML</b></p>")]
        ),
        text_contains=["Xin chào bản text"],
        html_contains=["<b>HTML</b>"],
        text_from_html=False,
    )
    add(
        "html_only",
        std("HTML only"),
        html_part(
            "<html><head><title>t</title><style>.x{color:red}</style></head><body><h1>Yêu cầu</h1>"
            "<p>Xem <a href='https://shop.vn/don-hang/1234'>đơn hàng</a> giúp tôi:</p>"
            "<ul><li>Áo thun</li><li>Quần jean</li></ul><table><tr><td>Tổng</td><td>500.000đ</td></tr></table>"
            "</body></html>"
        ),
        text_from_html=True,
        text_contains=[
            "Yêu cầu",
            "đơn hàng (https://shop.vn/don-hang/1234)",
            "- Áo thun\n- Quần jean",
            "Tổng  500.000đ",
        ],
        text_not_contains=[".x{color", "<p>"],
    )
    related = multipart(
        "related",
        "rel1",
        [
            html_part('<p>Ảnh lỗi đây:</p><img src="cid:loi.png@01DC" alt="ảnh lỗi">'),
            "Content-Type: image/png; name=loi.png\nContent-Transfer-Encoding: base64\nContent-ID: <loi.png@01DC>\n"
            "Content-Disposition: inline; filename=loi.png\n\n" + b64(PNG),
        ],
    )
    add_mime(
        "related_cid",
        std("Inline image"),
        related,
        html_contains=['src="cid:loi.png@01DC"'],
        attachments=[["loi.png", "image/png"]],
        inline=["loi.png"],
        text_contains=["Ảnh lỗi đây:"],
    )
    add_mime(
        "mixed_alt_related_pdf",
        std("Hóa đơn kèm theo", "Kế toán Công ty <ketoan@company.vn>"),
        multipart(
            "mixed",
            "mix1",
            [
                multipart(
                    "alternative",
                    "alt2",
                    [text_part("Gửi anh hóa đơn.\n\n[logo]"), related.replace("rel1", "rel2")],
                ),
                'Content-Type: application/pdf; name="hoa-don.pdf"\nContent-Transfer-Encoding: base64\n'
                'Content-Disposition: attachment; filename="hoa-don.pdf"\n\n' + b64(PDF),
            ],
        ),
        text_contains=["Gửi anh hóa đơn."],
        html_contains=["Ảnh lỗi đây:"],
        attachments=[["loi.png", "image/png"], ["hoa-don.pdf", "application/pdf"]],
        inline=["loi.png"],
        attachment_starts={"hoa-don.pdf": "%PDF-1.4"},
    )
    add_mime(
        "apple_mixed_inline_text",
        std("Ảnh hóa đơn", "Lan <lan@icloud.com>"),
        multipart(
            "mixed",
            "apple1",
            [
                "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nTrước ảnh\n",
                "Content-Type: image/jpeg; name=IMG_0001.jpeg\nContent-Disposition: inline; filename=IMG_0001.jpeg\n"
                "Content-Transfer-Encoding: base64\n\n" + b64(b"\xff\xd8\xff\xe0fakejpeg"),
                "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nSau ảnh\n",
            ],
        ),
        text_contains=["Trước ảnh", "Sau ảnh"],
        attachments=[["IMG_0001.jpeg", "image/jpeg"]],
    )
    inner = (
        "From: Khách hàng <kh@gmail.com>\nTo: an.nguyen@gmail.com\nSubject: Báo giá\nDate: Sun, 04 Jan 2026 09:00:00 +0700\n"
        "Message-ID: <inner-quote@gmail.com>\nContent-Type: text/plain; charset=utf-8\n\nCho tôi báo giá 100 cái.\n"
    )
    add_mime(
        "forwarded_rfc822",
        std("Fwd: Báo giá"),
        multipart(
            "mixed",
            "fw1",
            [text_part("Chuyển cho shop xử lý giúp."), "Content-Type: message/rfc822\n\n" + inner],
        ),
        subject="Fwd: Báo giá",
        text_contains=["Chuyển cho shop xử lý giúp."],
        text_not_contains=["Cho tôi báo giá 100 cái."],
        attachments=[["Báo giá.eml", "message/rfc822"]],
        attachment_starts={"Báo giá.eml": "From: "},
    )
    add_mime(
        "forwarded_rfc822_inline",
        std("Fw: Complaint", "Manager <manager@company.vn>"),
        multipart(
            "mixed",
            "fw2",
            [
                text_part("See below."),
                'Content-Type: message/rfc822; name="complaint.eml"\nContent-Disposition: inline; filename="complaint.eml"\n\n'
                + inner,
            ],
        ),
        attachments=[["complaint.eml", "message/rfc822"]],
    )
    add_mime(
        "calendar_outlook",
        std("Họp xử lý khiếu nại"),
        multipart(
            "alternative",
            "cal1",
            [
                text_part("Mời shop họp lúc 10h ngày 10/1."),
                html_part("<p>Mời shop họp lúc 10h ngày 10/1.</p>"),
                'Content-Type: text/calendar; charset="utf-8"; method=REQUEST\nContent-Transfer-Encoding: base64\n\n'
                + b64(ICS.encode()),
            ],
        ),
        text_contains=["Mời shop họp lúc 10h ngày 10/1."],
        attachments=[["invite.ics", "text/calendar"]],
        attachment_starts={"invite.ics": "BEGIN:VCALENDAR"},
    )
    add_mime(
        "calendar_google",
        std("Invitation: Demo @ Sat Jan 10, 2026", "Google Calendar <calendar-notification@google.com>"),
        multipart(
            "mixed",
            "gcal",
            [
                multipart(
                    "alternative",
                    "gcal-alt",
                    [
                        text_part("You have been invited to the following event."),
                        html_part("<div>You have been invited to the following event.</div>"),
                        'Content-Type: text/calendar; charset="UTF-8"; method=REQUEST\n\n' + ICS,
                    ],
                ),
                'Content-Type: application/ics; name="invite.ics"\nContent-Disposition: attachment; filename="invite.ics"\n'
                "Content-Transfer-Encoding: base64\n\n" + b64(ICS.encode()),
            ],
        ),
        attachments=[["invite.ics", "text/calendar"], ["invite.ics", "application/ics"]],
    )
    add_mime(
        "smime_signed",
        std("Hợp đồng đã ký", "Giám đốc <director@company.vn>"),
        multipart(
            "signed",
            "sig1",
            [
                multipart(
                    "alternative",
                    "sig-alt",
                    [text_part("Hợp đồng đã ký số."), html_part("<p>Hợp đồng đã ký số.</p>")],
                ),
                'Content-Type: application/pkcs7-signature; name="smime.p7s"\nContent-Transfer-Encoding: base64\n'
                'Content-Disposition: attachment; filename="smime.p7s"\n\n'
                + b64(b"0\x82\x05\x00fake-signature"),
            ],
            '; protocol="application/pkcs7-signature"; micalg=sha-256',
        ),
        text_contains=["Hợp đồng đã ký số."],
        html_contains=["Hợp đồng đã ký số."],
        attachments=[["smime.p7s", "application/pkcs7-signature"]],
    )
    add_mime(
        "pgp_signed",
        std("Signed", "Alice <alice@example.org>"),
        multipart(
            "signed",
            "pgp1",
            [
                "Content-Type: text/plain; charset=utf-8\n\nPlease refund order 77.\n",
                'Content-Type: application/pgp-signature; name="signature.asc"\n\n'
                "-----BEGIN PGP SIGNATURE-----\niQEzBAEBCAAdFiEE\n-----END PGP SIGNATURE-----\n",
            ],
            '; protocol="application/pgp-signature"; micalg=pgp-sha256',
        ),
        text_contains=["Please refund order 77."],
        attachments=[["signature.asc", "application/pgp-signature"]],
    )
    add(
        "smime_encrypted",
        std("Encrypted", "Bob <bob@example.org>")
        + '\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\n'
        'Content-Disposition: attachment; filename="smime.p7m"\nContent-Transfer-Encoding: base64',
        b64(b"0\x80\x06\x09encrypted-blob") + "\n",
        attachments=[["smime.p7m", "application/pkcs7-mime"]],
        new="",
    )
    deep = text_part("Sâu nhất")
    for level in range(8):
        deep = multipart("mixed", f"deep{level}", [deep])
    add_mime("deeply_nested", std("Deep"), deep, text_contains=["Sâu nhất"])
    add(
        "html_dangerous",
        std("Xem ảnh"),
        html_part(
            '<html><body onload="steal()"><script>alert(1)</script><style>body{}</style>'
            '<p style="color:red" onclick="x()">Chào</p><img src="https://tracker.example/pixel.gif?u=1" width=1>'
            '<img src="data:image/png;base64,AAAA"><a href="javascript:alert(1)">bấm</a>'
            '<iframe src="https://evil.example"></iframe><form action="https://evil.example"><input name=p></form>'
            "</body></html>"
        ),
        html_contains=["Chào"],
        html_not_contains=[
            "script",
            "onload",
            "onclick",
            "tracker.example",
            "javascript:",
            "iframe",
            "data:image",
            "<form",
        ],
        remote_images=1,
    )
    add_mime(
        "text_attachment_not_body",
        std("Log file"),
        multipart(
            "mixed",
            "txt1",
            [
                text_part("Log đính kèm."),
                'Content-Type: text/plain; charset=utf-8; name="error.log"\nContent-Disposition: attachment; filename="error.log"\n\n'
                "ERROR 500 at /checkout\n",
            ],
        ),
        text_contains=["Log đính kèm."],
        text_not_contains=["ERROR 500"],
        attachments=[["error.log", "text/plain"]],
    )
    add_mime(
        "tnef_winmail",
        std("Outlook RTF", "Old Outlook <old@company.vn>"),
        multipart(
            "mixed",
            "tnef",
            [
                text_part("Nội dung chính."),
                'Content-Type: application/ms-tnef; name="winmail.dat"\nContent-Transfer-Encoding: base64\n'
                'Content-Disposition: attachment; filename="winmail.dat"\n\n' + b64(b"\x78\x9f\x3e\x22tnef"),
            ],
        ),
        attachments=[["winmail.dat", "application/ms-tnef"]],
    )


def filenames() -> None:
    name = "Báo cáo lỗi tháng 1 năm 2026 - bản cuối cùng.pdf"
    encoded = qp(name).replace("=\n", "")
    pct = "".join(
        c if c.isalnum() and c.isascii() else "%" + "%".join(f"{b:02X}" for b in c.encode()) for c in name
    )
    cut = pct.index("%", 40)  # continuations split between characters, as RFC 2231 requires
    add_mime(
        "rfc2231_filename",
        std("RFC 2231"),
        multipart(
            "mixed",
            "f1",
            [
                text_part("Tệp đính kèm."),
                "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment;\n"
                f" filename*0*=utf-8''{pct[:cut]};\n filename*1*={pct[cut:]}\n\n" + b64(PDF),
            ],
        ),
        attachments=[[name, "application/pdf"]],
    )
    del encoded
    add_mime(
        "rfc2047_filename",
        std("Outlook filename"),
        multipart(
            "mixed",
            "f2",
            [
                text_part("Tệp đính kèm."),
                f'Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet; name="{ew("Bảng giá.xlsx")}"\n'
                f'Content-Disposition: attachment; filename="{ew("Bảng giá.xlsx")}"\nContent-Transfer-Encoding: base64\n\n'
                + b64(b"PK\x03\x04xlsx"),
            ],
        ),
        attachments=[["Bảng giá.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]],
    )
    add_mime(
        "filename_path_traversal",
        std("Traversal"),
        multipart(
            "mixed",
            "f3",
            [
                text_part("x"),
                'Content-Type: application/octet-stream\nContent-Disposition: attachment; filename="../../etc/passwd"\n\nroot:x\n',
                'Content-Type: application/octet-stream\nContent-Disposition: attachment; filename="C:\\\\Users\\\\a\\\\evil.exe"\n\nMZ\n',
            ],
        ),
        attachments=[["passwd", "application/octet-stream"], ["evil.exe", "application/octet-stream"]],
    )
    add_mime(
        "attachment_without_name",
        std("No name"),
        multipart(
            "mixed",
            "f4",
            [
                text_part("x"),
                "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n" + b64(PDF),
            ],
        ),
        attachments=[["attachment-1.pdf", "application/pdf"]],
    )


def build() -> None:
    encodings()
    broken()
    shapes()
    filenames()
