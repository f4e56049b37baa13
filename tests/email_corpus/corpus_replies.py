# ruff: noqa: E501  (test data: long literal lines read better unbroken)
"""Corpus part 2: replies from real clients (Gmail, Outlook, Apple Mail, Thunderbird, mobile), en + vi."""

from __future__ import annotations

from corpus_lib import OUR_MID, add, add_mime, html_part, multipart, std, text_part

SHIPPED = "Your order has shipped."
VI_SHIPPED = "Đơn hàng của anh đã được gửi đi."


def reply_headers(
    subject: str, frm: str = "John Smith <john@company.com>", mid: str = "<reply-1@mail.gmail.com>"
) -> str:
    return std(subject, frm, mid, f"In-Reply-To: {OUR_MID}\nReferences: <first@mail.gmail.com> {OUR_MID}")


def gmail() -> None:
    add_mime(
        "gmail_en",
        reply_headers("Re: Your order [#1234]"),
        multipart(
            "alternative",
            "g1",
            [
                text_part(
                    "Thanks, it arrived today!\n\nOn Mon, Jan 5, 2026 at 10:00 AM Hỗ trợ Shop <support@shop.vn> wrote:\n\n"
                    f"> {SHIPPED}\n>\n> Shop\n"
                ),
                html_part(
                    '<div dir="ltr">Thanks, it arrived today!</div><br><div class="gmail_quote gmail_quote_container">'
                    '<div dir="ltr" class="gmail_attr">On Mon, Jan 5, 2026 at 10:00 AM Hỗ trợ Shop &lt;<a href="mailto:'
                    'support@shop.vn">support@shop.vn</a>&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:'
                    f'0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex"><div dir="ltr">{SHIPPED}'
                    "<br>Shop</div></blockquote></div>"
                ),
            ],
        ),
        subject="Re: Your order [#1234]",
        in_reply_to=[OUR_MID.strip("<>")],
        references=["first@mail.gmail.com", OUR_MID.strip("<>")],
        new="Thanks, it arrived today!",
        quoted_contains=[SHIPPED, "wrote:"],
    )
    add_mime(
        "gmail_vi",
        reply_headers("Re: Đơn hàng chưa được giao [#1234]", "Nguyễn Văn An <an.nguyen@gmail.com>"),
        multipart(
            "alternative",
            "g2",
            [
                text_part(
                    "Cảm ơn shop, tôi nhận được rồi.\n\nVào Th 2, 5 thg 1, 2026 vào lúc 10:00 Hỗ trợ Shop <\n"
                    f"support@shop.vn> đã viết:\n\n> {VI_SHIPPED}\n>\n"
                ),
                html_part(
                    '<div dir="ltr">Cảm ơn shop, tôi nhận được rồi.</div><br><div class="gmail_quote"><div dir="ltr" '
                    'class="gmail_attr">Vào Th 2, 5 thg 1, 2026 vào lúc 10:00 Hỗ trợ Shop &lt;support@shop.vn&gt; đã viết:'
                    f'<br></div><blockquote class="gmail_quote">{VI_SHIPPED}</blockquote></div>'
                ),
            ],
        ),
        subject="Re: Đơn hàng chưa được giao [#1234]",
        new="Cảm ơn shop, tôi nhận được rồi.",
        quoted_contains=[VI_SHIPPED, "đã viết:"],
    )
    add(
        "gmail_wrapped_attribution_text",
        reply_headers("Re: Refund"),
        text_part(
            "Any news on the refund?\n\nOn Mon, Jan 5, 2026 at 10:00 AM Customer Care Team of Example Shop Vietnam <\n"
            "support@shop.vn> wrote:\n\n> We are checking.\n"
        ),
        new="Any news on the refund?",
        quoted_contains=["We are checking."],
    )
    add(
        "gmail_vi_text_only",
        reply_headers("Re: Bảo hành", "Trần Thị Bích <bich.tran@gmail.com>"),
        text_part(
            "Dạ em gửi ảnh bảo hành ạ.\n\nVào 10:00, Th 2, 5 thg 1, 2026 Hỗ trợ Shop <support@shop.vn> đã viết:\n\n"
            "> Chị gửi giúp em ảnh phiếu bảo hành nhé.\n"
        ),
        new="Dạ em gửi ảnh bảo hành ạ.",
    )
    add_mime(
        "gmail_with_signature",
        reply_headers("Re: Invoice"),
        multipart(
            "alternative",
            "g3",
            [
                text_part(
                    "Please resend the invoice.\n\n-- \nJohn Smith\nCompany Ltd.\n\nOn Mon, Jan 5, 2026 at 10:00 AM "
                    "Shop <support@shop.vn> wrote:\n\n> Invoice attached.\n"
                ),
                html_part(
                    '<div dir="ltr"><div>Please resend the invoice.</div><br><span class="gmail_signature_prefix">-- </span>'
                    '<br><div dir="ltr" class="gmail_signature">John Smith<br>Company Ltd.</div></div><br>'
                    '<div class="gmail_quote">On Mon, Jan 5, 2026 at 10:00 AM Shop wrote:<blockquote class="gmail_quote">'
                    "Invoice attached.</blockquote></div>"
                ),
            ],
        ),
        new="Please resend the invoice.",
        quoted_contains=["Company Ltd.", "Invoice attached."],
    )
    add(
        "gmail_forward_with_comment",
        std("Fwd: Hỏng hàng", "Nguyễn Văn An <an.nguyen@gmail.com>"),
        text_part(
            "Shop xem giúp mẹ tôi với.\n\n---------- Forwarded message ---------\nFrom: Mẹ <me@gmail.com>\n"
            "Date: Sun, Jan 4, 2026 at 9:00 PM\nSubject: Hỏng hàng\nTo: <an.nguyen@gmail.com>\n\nNồi cơm bị hỏng.\n"
        ),
        new="Shop xem giúp mẹ tôi với.",
        quoted_contains=["Nồi cơm bị hỏng."],
    )
    add(
        "gmail_forward_no_comment",
        std("Fwd: Hỏng hàng", "Nguyễn Văn An <an.nguyen@gmail.com>"),
        text_part(
            "---------- Forwarded message ---------\nFrom: Mẹ <me@gmail.com>\nDate: Sun, Jan 4, 2026 at 9:00 PM\n"
            "Subject: Hỏng hàng\nTo: <an.nguyen@gmail.com>\n\nNồi cơm bị hỏng.\n"
        ),
        new_contains=["Nồi cơm bị hỏng.", "Forwarded message"],
        quoted_empty=True,
    )
    add(
        "gmail_japanese",
        reply_headers("Re: 注文について", "Yamada <yamada@example.jp>"),
        text_part(
            "ありがとうございます。\n\n2026年1月5日(月) 10:00 Hỗ trợ Shop <support@shop.vn>:\n\n> 発送しました。\n"
        ),
        new="ありがとうございます。",
    )


OUTLOOK_HTML = (
    "<html><head><style>p.MsoNormal{margin:0}</style></head><body><div class=WordSection1><p class=MsoNormal>{new}"
    "<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p><div><div style='border:none;border-top:solid #E1E1E1 1.0pt;"
    "padding:3.0pt 0in 0in 0in'><p class=MsoNormal><b>{frm}:</b> Hỗ trợ Shop &lt;support@shop.vn&gt; <br><b>{sent}:"
    "</b> {date}<br><b>{to}:</b> John &lt;john@company.com&gt;<br><b>{subj}:</b> Your order [#1234]<o:p></o:p></p>"
    "</div></div><p class=MsoNormal>{old}</p></div></body></html>"
)


def outlook() -> None:
    for name, new, labels, date, old in [
        ("outlook_desktop_en", "Please cancel the order.", ("From", "Sent", "To", "Subject"),
         "Monday, January 5, 2026 10:00 AM", SHIPPED),
        ("outlook_desktop_vi", "Nhờ shop hủy đơn giúp em.", ("Từ", "Đã gửi", "Đến", "Chủ đề"),
         "Thứ Hai, 5 tháng 1, 2026 10:00 SA", VI_SHIPPED),
    ]:  # fmt: skip
        frm, sent, to, subj = labels
        text = (
            f"{new}\n\n \n\n{frm}: Hỗ trợ Shop <support@shop.vn> \n{sent}: {date}\n{to}: John <john@company.com>\n"
            f"{subj}: Your order [#1234]\n\n \n\n{old}\n"
        )
        html = OUTLOOK_HTML
        for key, value in {
            "new": new,
            "frm": frm,
            "sent": sent,
            "date": date,
            "to": to,
            "subj": subj,
            "old": old,
        }.items():
            html = html.replace("{" + key + "}", value)
        add_mime(
            name,
            reply_headers("RE: Your order [#1234]", "John <john@company.com>", f"<{name}@company.com>")
            + "\nThread-Index: AQHbXyZ1abcdef==\nX-MS-Has-Attach: \nX-Mailer: Microsoft Outlook 16.0",
            multipart("alternative", f"ol-{name}", [text_part(text), html_part(html)]),
            new=new,
            quoted_contains=[old],
        )
    for name, new, labels in [
        ("outlook_web_en", "Thanks, received.", ("From", "Sent", "To", "Subject")),
        ("outlook_web_vi", "Cảm ơn, đã nhận.", ("Từ", "Đã gửi", "Đến", "Chủ đề")),
    ]:
        frm, sent, to, subj = labels
        add_mime(
            name,
            reply_headers("RE: Your order", "Mai <mai@outlook.com>", f"<{name}@outlook.com>"),
            multipart(
                "alternative",
                f"owa-{name}",
                [
                    text_part(
                        f"{new}\n\n________________________________\n{frm}: Hỗ trợ Shop <support@shop.vn>\n"
                        f"{sent}: Monday, January 5, 2026 10:00\n{to}: Mai <mai@outlook.com>\n{subj}: Your order\n\n{SHIPPED}\n"
                    ),
                    html_part(
                        f'<div dir="ltr">{new}</div><hr style="display:inline-block;width:98%" tabindex="-1">'
                        f'<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>{frm}:</b> Hỗ trợ Shop<br><b>{sent}:</b>'
                        f" Monday<br><b>{to}:</b> Mai<br><b>{subj}:</b> Your order</font><div>&nbsp;</div></div>"
                        f"<div>{SHIPPED}</div>"
                    ),
                ],
            ),
            new=new,
            quoted_contains=[SHIPPED],
        )
    add(
        "outlook_original_message",
        reply_headers("RE: Contract", "Old Outlook <old@company.vn>"),
        text_part(
            "Approved.\n\n-----Original Message-----\nFrom: Hỗ trợ Shop [mailto:support@shop.vn]\n"
            "Sent: Monday, January 5, 2026 10:00 AM\nTo: old@company.vn\nSubject: Contract\n\nPlease approve.\n"
        ),
        new="Approved.",
        quoted_contains=["Please approve."],
    )
    add(
        "outlook_mobile_android",
        reply_headers("Re: Lịch hẹn", "Hùng <hung@hotmail.com>"),
        text_part(
            "Ok 3h chiều nhé.\n\nGet Outlook for Android<https://aka.ms/AAb9ysg>\n________________________________\n"
            "From: Hỗ trợ Shop <support@shop.vn>\nSent: Monday, January 5, 2026 10:00:00 AM\nTo: Hùng <hung@hotmail.com>\n"
            "Subject: Lịch hẹn\n\nAnh hẹn mấy giờ ạ?\n"
        ),
        new="Ok 3h chiều nhé.",
        quoted_contains=["Anh hẹn mấy giờ ạ?"],
    )
    add(
        "outlook_ios_sent_from",
        reply_headers("Re: Lịch hẹn", "Hùng <hung@hotmail.com>"),
        text_part(
            "Được.\n\nSent from Outlook for iOS\n\nFrom: Hỗ trợ Shop\nSent: Monday\nTo: Hùng\nSubject: Lịch hẹn\n"
        ),
        new="Được.",
    )
    add(
        "outlook_closing_kept",
        std("Yêu cầu xuất hóa đơn", "Kế toán <ketoan@company.vn>"),
        text_part(
            "Kính gửi shop,\n\nCông ty cần xuất hóa đơn đỏ cho đơn 1234.\n\nTrân trọng,\nNguyễn Thị Kế Toán\nPhòng Tài chính"
        ),
        new_contains=["Trân trọng,\nNguyễn Thị Kế Toán\nPhòng Tài chính"],
        quoted_empty=True,
    )


def apple_thunderbird_mobile() -> None:
    add_mime(
        "apple_mail_en",
        reply_headers("Re: Your order", "Lan <lan@icloud.com>", "<apple-1@icloud.com>")
        + "\nX-Mailer: Apple Mail (2.3774)",
        multipart(
            "alternative",
            "Apple-Mail=_1",
            [
                text_part(
                    f"Thank you!\n\n> On Jan 5, 2026, at 10:00, Hỗ trợ Shop <support@shop.vn> wrote:\n> \n> {SHIPPED}\n"
                ),
                html_part(
                    '<html><body dir="auto">Thank you!<div><br><blockquote type="cite">On Jan 5, 2026, at 10:00, '
                    "Hỗ trợ Shop &lt;support@shop.vn&gt; wrote:<br><br></blockquote></div>"
                    f'<blockquote type="cite"><div dir="ltr">{SHIPPED}</div></blockquote></body></html>'
                ),
            ],
        ),
        new="Thank you!",
        quoted_contains=[SHIPPED],
    )
    add(
        "apple_mail_vi_text",
        reply_headers("Re: Đơn hàng", "Lan <lan@icloud.com>", "<apple-2@icloud.com>"),
        text_part(
            f"Dạ em cảm ơn.\n\nVào 10:00, ngày 5 thg 1, 2026, Hỗ trợ Shop <support@shop.vn> đã viết:\n\n> {VI_SHIPPED}\n"
        ),
        new="Dạ em cảm ơn.",
    )
    add(
        "apple_mail_desktop_at",
        reply_headers("Re: Size", "Lan <lan@icloud.com>", "<apple-3@icloud.com>"),
        text_part(
            "Size M please.\n\n> On 5 Jan 2026, at 10:00, Shop <support@shop.vn> wrote:\n>\n> Which size?\n"
        ),
        new="Size M please.",
        quoted_contains=["Which size?"],
    )
    add_mime(
        "thunderbird_html",
        reply_headers("Re: Ticket", "Peter <peter@posteo.de>", "<tb-1@posteo.de>")
        + "\nUser-Agent: Mozilla Thunderbird",
        multipart(
            "alternative",
            "tb1",
            [
                text_part("Ok, thanks.\n\nOn 05/01/2026 10:00, Hỗ trợ Shop wrote:\n> Done.\n"),
                html_part(
                    '<html><body><p>Ok, thanks.</p><div class="moz-cite-prefix">On 05/01/2026 10:00, Hỗ trợ Shop wrote:'
                    '<br></div><blockquote type="cite" cite="mid:x@shop.vn">Done.</blockquote></body></html>'
                ),
            ],
        ),
        new="Ok, thanks.",
        quoted_contains=["Done."],
    )
    add(
        "thunderbird_text",
        reply_headers("Re: Ticket", "Peter <peter@posteo.de>", "<tb-2@posteo.de>"),
        "Content-Type: text/plain; charset=UTF-8; format=flowed\nContent-Transfer-Encoding: 8bit\n\n"
        "Could you also check order 99? It was placed on the same \nday.\n\nOn 01/02/2026 10:00, Hỗ trợ Shop wrote:\n"
        "> We refunded order 98. Please allow three to five working \n> days.\n\n-- \nPeter\n",
        new="Could you also check order 99? It was placed on the same day.",
        quoted_contains=["Please allow three to five working days.", "Peter"],
    )
    add(
        "thunderbird_short_attribution",
        reply_headers("Re: Ticket", "Peter <peter@posteo.de>", "<tb-3@posteo.de>"),
        text_part("Yes please.\n\nHỗ trợ Shop <support@shop.vn> wrote:\n> Shall we replace it?\n"),
        new="Yes please.",
    )
    add(
        "iphone_en",
        reply_headers("Re: Delivery", "Tom <tom@gmail.com>", "<iphone-1@gmail.com>"),
        text_part(
            f"Great\n\nSent from my iPhone\n\n> On Jan 5, 2026, at 10:00 AM, Shop <support@shop.vn> wrote:\n>\n> {SHIPPED}\n"
        ),
        new="Great",
        quoted_contains=["Sent from my iPhone", SHIPPED],
    )
    add(
        "iphone_vi",
        reply_headers("Re: Giao hàng", "Tuấn <tuan@gmail.com>", "<iphone-2@gmail.com>"),
        text_part(
            f"Ok shop\n\nGửi từ iPhone của tôi\n\n> Vào 10:00, ngày 5 thg 1, 2026, Shop <support@shop.vn> đã viết:\n>\n> {VI_SHIPPED}\n"
        ),
        new="Ok shop",
    )
    add(
        "samsung_vi",
        reply_headers("Re: Giao hàng", "Tuấn <tuan@gmail.com>", "<samsung-1@gmail.com>"),
        text_part("Đã nhận\n\n\nĐược gửi từ Samsung Galaxy của tôi.\n"),
        new="Đã nhận",
    )
    add(
        "android_sent_from_galaxy",
        reply_headers("Re: Warranty", "Kim <kim@gmail.com>", "<galaxy@gmail.com>"),
        text_part(
            "Yes\n\nSent from my Samsung Galaxy smartphone.\n\n-------- Original message --------\nFrom: Shop\n"
        ),
        new="Yes",
    )
    add(
        "yahoo_html",
        reply_headers("Re: Return", "Hoa <hoa@yahoo.com>", "<yahoo-1@yahoo.com>"),
        html_part(
            '<html><body><div class="yahoo-style-wrap"><div dir="ltr">Tôi muốn trả hàng.</div></div>'
            '<div id="yahoo_quoted_1" class="yahoo_quoted"><div>Vào Thứ Hai, 5 tháng 1, 2026, 10:00, Shop '
            "&lt;support@shop.vn&gt; đã viết:</div><blockquote>Anh chị cần hỗ trợ gì?</blockquote></div></body></html>"
        ),
        new="Tôi muốn trả hàng.",
        text_from_html=True,
    )


def quoting_styles() -> None:
    add(
        "interleaved_inline_answers",
        reply_headers("Re: Thông tin", "Nam <nam@gmail.com>", "<inline@gmail.com>"),
        text_part(
            "Chào shop,\n\n> Anh cho em xin mã đơn hàng?\nMã là 1234.\n\n> Và số điện thoại?\n0901234567\n\nCảm ơn\n"
        ),
        new_contains=["Mã là 1234.", "0901234567", "> Và số điện thoại?"],
        quoted_empty=True,
    )
    add(
        "interleaved_after_attribution",
        reply_headers("Re: Info", "Nam <nam@gmail.com>", "<inline2@gmail.com>"),
        text_part(
            "On Mon, Jan 5, 2026 at 10:00 AM Shop <support@shop.vn> wrote:\n> What is your order number?\n1234\n"
            "> Phone?\n0901234567\n"
        ),
        new_contains=["1234", "0901234567"],
        quoted_empty=True,
    )
    add(
        "bottom_posting",
        reply_headers("Re: Refund", "Old School <old@example.org>", "<bottom@example.org>"),
        text_part(f"> {SHIPPED}\n\nGreat, thanks! But the box was damaged.\n"),
        new_contains=["Great, thanks! But the box was damaged."],
    )
    add(
        "only_quoted_text",
        reply_headers("Re: Refund", "Empty Reply <empty@example.org>", "<onlyq@example.org>"),
        text_part(f"On Mon, Jan 5, 2026 at 10:00 AM Shop <support@shop.vn> wrote:\n> {SHIPPED}\n"),
        new_contains=[SHIPPED],
        quoted_empty=True,
    )
    add(
        "sig_dash_dash",
        reply_headers("Re: Parts", "Engineer <eng@factory.vn>", "<sig@factory.vn>"),
        text_part("Cần thêm 20 bộ linh kiện.\n\n--\nKỹ sư Trưởng\nNhà máy ABC\n0912 345 678\n"),
        new="Cần thêm 20 bộ linh kiện.",
        quoted_contains=["Nhà máy ABC"],
    )
    add(
        "reply_above_marker",
        reply_headers("Re: [#1234] Your request", "Cus <cus@example.com>", "<marker@example.com>"),
        text_part(
            "Thanks for the quick answer.\n\n## Please reply above this line ##\n\nAgent wrote: we fixed it.\n"
        ),
        new="Thanks for the quick answer.",
    )
    add(
        "nested_quotes",
        reply_headers("Re: Re: Re: Loop", "Deep <deep@example.com>", "<nested@example.com>"),
        text_part(
            "Third answer.\n\nOn Mon, Jan 5, 2026 at 11:00 AM Shop <support@shop.vn> wrote:\n> Second.\n>\n"
            "> On Mon, Jan 5, 2026 at 10:00 AM Deep <deep@example.com> wrote:\n>> First.\n"
        ),
        new="Third answer.",
        quoted_contains=["Second.", ">> First."],
    )
    add(
        "french_client",
        reply_headers("RE: Commande", "Émile <emile@example.fr>", "<fr@example.fr>"),
        text_part(
            "Merci beaucoup.\n\nLe lun. 5 janv. 2026 à 10:00, Shop <support@shop.vn> a écrit :\n> Envoyé.\n"
        ),
        new="Merci beaucoup.",
    )
    add(
        "casual_on_monday_not_quote",
        std("Question", "Ann <ann@example.com>", "<casual@example.com>"),
        text_part("On Monday my colleague wrote:\nplease check the printer.\nCan you help?\n"),
        new_contains=["On Monday my colleague wrote:", "Can you help?"],
        quoted_empty=True,
    )


def build() -> None:
    gmail()
    outlook()
    apple_thunderbird_mobile()
    quoting_styles()
