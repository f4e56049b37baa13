# ruff: noqa: E501  (test data: long literal lines read better unbroken)
"""Corpus part 3: auto-replies, out-of-office, bounces (DSN) of several MTAs, lists, authentication."""

from __future__ import annotations

from corpus_lib import DATE, OUR_MID, add, add_mime, ew, html_part, multipart, std, text_part

ORIGINAL = OUR_MID.strip("<>")
ORIGINAL_HEADERS = (
    f"Message-ID: {OUR_MID}\nFrom: support@shop.vn\nTo: nobody@example.com\nSubject: Re: [#1234] Your order\n"
    f"Date: {DATE}\n"
)


def auto_replies() -> None:
    add(
        "rfc3834_auto_replied",
        std(
            "Auto: Your order",
            "Lisa <lisa@example.com>",
            "<auto1@example.com>",
            "Auto-Submitted: auto-replied",
        ),
        text_part("I am away until Monday."),
        flags={"auto": True},
    )
    add(
        "exchange_oof_en",
        std(
            "Automatic reply: Your order [#1234]",
            "Mark <mark@corp.example>",
            "<oof1@corp.example>",
            "X-Auto-Response-Suppress: All\nX-MS-Exchange-Inbox-Rules-Loop: mark@corp.example\n"
            "Thread-Topic: Your order",
        ),  # fmt: skip
        text_part("I am out of the office until 12 January with limited access to e-mail."),
        subject="Automatic reply: Your order [#1234]",
        flags={"auto": True, "ooo": True},
    )
    add(
        "exchange_oof_vi",
        std(
            "Trả lời tự động: Đơn hàng [#1234]",
            "Hạnh <hanh@corp.vn>",
            "<oof2@corp.vn>",
            "X-Auto-Response-Suppress: All\nX-MS-Exchange-Inbox-Rules-Loop: hanh@corp.vn",
        ),  # fmt: skip
        text_part("Tôi đang nghỉ phép đến hết ngày 12/1."),
        subject="Trả lời tự động: Đơn hàng [#1234]",
        flags={"auto": True, "ooo": True},
    )
    add(
        "gmail_vacation",
        std("Re: Your order", "Nhi <nhi@gmail.com>", "<vac1@mail.gmail.com>", "Auto-Submitted: auto-replied"),
        text_part("Mình đang đi du lịch, sẽ trả lời sau."),
        flags={"auto": True},
    )
    add(
        "gmail_vacation_subject",
        std(
            "Vacation: back on Jan 12",
            "Nhi <nhi@gmail.com>",
            "<vac2@mail.gmail.com>",
            "Auto-Submitted: auto-replied",
        ),
        text_part("On vacation."),
        flags={"auto": True, "ooo": True},
    )
    add(
        "zimbra_vacation",
        std(
            "Re: Đơn hàng",
            "Quân <quan@zimbra.vn>",
            "<zim@zimbra.vn>",
            "Auto-Submitted: auto-replied (zimbra; vacation)",
        ),
        text_part("Tôi vắng mặt."),
        flags={"auto": True, "ooo": True},
    )
    add(
        "cloud_owner_email",
        std(
            "Out of office",
            "Rep <rep@cloud.example>",
            "<own@cloud.example>",
            'Auto-Submitted: auto-replied; owner-email="rep@cloud.example"',
        ),  # fmt: skip
        text_part("Away."),
        flags={"auto": True, "ooo": True},
    )
    for name, header in [
        ("x_autoreply", "X-Autoreply: yes"),
        ("x_autorespond", "X-Autorespond: Thanks for your mail"),
        ("precedence_auto_reply", "Precedence: auto_reply"),
        ("x_loop", "X-Loop: yes"),
        ("exchange_generated", "X-MS-Exchange-Generated-Message-Source: Calendar Repair Assistant"),
        ("delivered_to_autoresponder", "Delivered-To: autoresponder"),
    ]:
        add(
            name,
            std("Re: Your order", "Bot <bot@vendor.example>", f"<{name}@vendor.example>", header),
            text_part("We received your message."),
            flags={"auto": True},
        )
    add(
        "precedence_junk",
        std("Offer", "Promo <promo@deals.example>", "<junk@deals.example>", "Precedence: junk"),
        text_part("Buy now."),
        flags={"auto": True, "bulk": True},
    )
    add(
        "subject_out_of_office_only",
        std("Out of Office: Your order", "Ops <ops@corp.example>", "<oof3@corp.example>"),
        text_part("I am out of the office."),
        flags={"auto": True, "ooo": True},
    )
    add(
        "subject_vang_mat",
        std("Vắng mặt: Đơn hàng 1234", "Thảo <thao@corp.vn>", "<vm@corp.vn>"),
        text_part("Tôi vắng mặt đến thứ Hai."),
        flags={"auto": True, "ooo": True},
    )
    add(
        "auto_generated_noreply",
        std(
            "Your password was changed",
            "Accounts <no-reply@accounts.example>",
            "<gen@accounts.example>",
            "Auto-Submitted: auto-generated",
        ),  # fmt: skip
        text_part("If this was not you, contact us."),
        flags={"auto": True, "noreply": True},
    )
    add(
        "auto_submitted_no",
        std(
            "Question about delivery",
            "Real Person <real@example.com>",
            "<asno@example.com>",
            "Auto-Submitted: no",
        ),
        text_part("When will it arrive?"),
        flags={},
    )
    add(
        "subject_out_of_office_hours_customer",
        std("Out of office hours support?", "Real Person <real@example.com>", "<ooh@example.com>"),
        text_part("Do you answer outside office hours?"),
        flags={},
    )
    add(
        "exchange_forwarding_rule",
        std(
            "Need help",
            "Customer <customer@example.com>",
            "<fwdrule@example.com>",
            "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent\nX-MS-Exchange-Inbox-Rules-Loop: support@shop.vn",
        ),
        text_part("My account is locked."),
        flags={},
        new="My account is locked.",
    )
    add(
        "null_return_path",
        "Return-Path: <>\n"
        + std("Notification", "System <system@vendor.example>", "<nullrp@vendor.example>"),
        text_part("Automatic notice."),
        flags={"auto": True},
    )


def dsn(
    boundary: str, human: str, status_block: str, original: str | None = ORIGINAL_HEADERS, rfc822: bool = True
) -> str:
    parts = [text_part(human, "us-ascii"), "Content-Type: message/delivery-status\n\n" + status_block]
    if original is not None:
        kind = "message/rfc822" if rfc822 else "text/rfc822-headers"
        parts.append(f"Content-Type: {kind}\n\n{original}" + ("\nOriginal body.\n" if rfc822 else ""))
    return multipart("report", boundary, parts, "; report-type=delivery-status")


def bounces() -> None:
    daemon = "Return-Path: <>\nAuto-Submitted: auto-replied\n"
    add_mime(
        "dsn_postfix",
        daemon
        + std(
            "Undelivered Mail Returned to Sender",
            "Mail Delivery System <MAILER-DAEMON@mx.shop.vn>",
            "<pf@mx>",
        ),
        dsn(
            "pfb",
            "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n",
            "Reporting-MTA: dns; mx.shop.vn\nX-Postfix-Queue-ID: 4ABC\nArrival-Date: Mon, 5 Jan 2026 10:00:00 +0700\n\n"
            "Final-Recipient: rfc822; nobody@example.com\nOriginal-Recipient: rfc822;nobody@example.com\nAction: failed\n"
            "Status: 5.1.1\nRemote-MTA: dns; mx.example.com\nDiagnostic-Code: smtp; 550 5.1.1 <nobody@example.com>:\n"
            "    Recipient address rejected: User unknown in virtual mailbox table\n",
        ),
        flags={"auto": True, "bounce": True, "noreply": True},
        bounces=[
            {
                "recipient": "nobody@example.com",
                "action": "failed",
                "status": "5.1.1",
                "original": ORIGINAL,
                "diagnostic_contains": "User unknown in virtual mailbox table",
            }
        ],  # fmt: skip
    )
    add_mime(
        "dsn_gmail",
        std(
            "Delivery Status Notification (Failure)",
            "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
            "<gm-dsn@mx.google.com>",
            f"In-Reply-To: {OUR_MID}\nReferences: {OUR_MID}",
        ),  # fmt: skip
        dsn(
            "gmb",
            "** Address not found **\n\nYour message wasn't delivered to nobody@example.com because the address "
            "couldn't be found, or is unable to receive mail.\n",
            "Reporting-MTA: dns; googlemail.com\nArrival-Date: Mon, 05 Jan 2026 03:00:00 -0800 (PST)\n\n"
            "Final-Recipient: rfc822; nobody@example.com\nAction: failed\nStatus: 5.1.1\n"
            "Remote-MTA: dns; mx.example.com. (1.2.3.4, the server for the domain example.com.)\n"
            "Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.\n"
            "Last-Attempt-Date: Mon, 05 Jan 2026 03:00:01 -0800 (PST)\n",
        ),
        flags={"auto": True, "bounce": True, "noreply": True},
        bounces=[
            {"recipient": "nobody@example.com", "action": "failed", "status": "5.1.1", "original": ORIGINAL}
        ],
    )
    add_mime(
        "dsn_exchange_online",
        daemon
        + std(
            "Undeliverable: Re: [#1234] Your order",
            "Microsoft Outlook <postmaster@shopvn.onmicrosoft.com>",
            "<ex-dsn@outlook.com>",
            "X-MS-Exchange-Message-Is-Ndr: ",
        ),  # fmt: skip
        multipart(
            "report",
            "exb",
            [
                multipart(
                    "alternative",
                    "exb-alt",
                    [
                        text_part(
                            "Your message to nobody@example.com couldn't be delivered.\nnobody wasn't found at example.com.\n"
                        ),
                        html_part("<p>Your message to nobody@example.com couldn't be delivered.</p>"),
                    ],
                ),
                "Content-Type: message/delivery-status\n\nReporting-MTA: dns;PH0PR01MB.prod.outlook.com\n"
                "Received-From-MTA: dns;PH0PR01MB.prod.outlook.com\n\nFinal-Recipient: rfc822;nobody@example.com\n"
                "Action: failed\nStatus: 5.1.10\nDiagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; "
                "Recipient not found by SMTP address lookup\n",
                "Content-Type: text/rfc822-headers\n\n" + ORIGINAL_HEADERS,
            ],
            "; report-type=delivery-status",
        ),
        flags={"auto": True, "bounce": True, "noreply": True},
        bounces=[
            {"recipient": "nobody@example.com", "action": "failed", "status": "5.1.10", "original": ORIGINAL}
        ],
    )
    add_mime(
        "dsn_delayed",
        daemon
        + std(
            "Delayed Mail (still being retried)",
            "Mail Delivery System <MAILER-DAEMON@mx.shop.vn>",
            "<delay@mx>",
        ),
        dsn(
            "dlb",
            "This is the mail system at host mx.shop.vn.\n\n####################################################\n"
            "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n",
            "Reporting-MTA: dns; mx.shop.vn\n\nFinal-Recipient: rfc822; slow@example.net\nAction: delayed\nStatus: 4.4.1\n"
            "Diagnostic-Code: X-Postfix; connect to mx.example.net[5.6.7.8]:25: Connection timed out\n"
            "Will-Retry-Until: Fri, 9 Jan 2026 10:00:00 +0700\n",
            rfc822=False,
        ),
        flags={"auto": True, "bounce": True, "noreply": True},
        bounces=[
            {"recipient": "slow@example.net", "action": "delayed", "status": "4.4.1", "original": ORIGINAL}
        ],
    )
    add_mime(
        "dsn_multi_recipient",
        daemon + std("Undelivered Mail Returned to Sender", "MAILER-DAEMON@mx.shop.vn", "<multi@mx>"),
        dsn(
            "mrb",
            "Two recipients failed.\n",
            "Reporting-MTA: dns; mx.shop.vn\n\nFinal-Recipient: rfc822; a@gone.example\nAction: failed\nStatus: 5.1.1\n\n"
            "Final-Recipient: rfc822; b@full.example\nAction: failed\nStatus: 5.2.2\nDiagnostic-Code: smtp; 552 5.2.2 "
            "Mailbox full\n",
        ),
        flags={"auto": True, "bounce": True, "noreply": True},
        bounces=[
            {"recipient": "a@gone.example", "action": "failed", "status": "5.1.1", "original": ORIGINAL},
            {"recipient": "b@full.example", "action": "failed", "status": "5.2.2", "original": ORIGINAL},
        ],
    )
    add_mime(
        "dsn_success_delivered",
        daemon + std("Successful Mail Delivery Report", "MAILER-DAEMON@mx.shop.vn", "<ok@mx>"),
        dsn(
            "okb",
            "Your message was delivered.\n",
            "Reporting-MTA: dns; mx.shop.vn\n\nFinal-Recipient: rfc822; happy@example.com\nAction: delivered\n"
            "Status: 2.0.0\n",
        ),  # fmt: skip
        flags={"auto": True, "noreply": True},
        bounces=[
            {"recipient": "happy@example.com", "action": "delivered", "status": "2.0.0", "original": ORIGINAL}
        ],
    )
    add(
        "dsn_exim_plain",
        daemon
        + std(
            "Mail delivery failed: returning message to sender",
            "Mail Delivery System <Mailer-Daemon@mail.host.vn>",
            "<exim@host>",
        ),  # fmt: skip
        text_part(
            "This message was created automatically by mail delivery software.\n\nA message that you sent could not be "
            "delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:\n\n"
            "  nobody@example.com\n    host mx.example.com [1.2.3.4]\n    SMTP error from remote mail server after RCPT "
            "TO:<nobody@example.com>:\n    550 5.1.1 User unknown\n  other@example.com\n    Unrouteable address\n\n"
            "------ This is a copy of the message, including all the headers. ------\n\n"
            + ORIGINAL_HEADERS
            + "\nOriginal body.\n",
            "us-ascii",
        ),
        flags={"auto": True, "bounce": True, "noreply": True},
        bounces=[
            {"recipient": "nobody@example.com", "action": "failed", "status": "5.1.1", "original": ORIGINAL},
            {"recipient": "other@example.com", "action": "failed", "status": "5.1.1", "original": ORIGINAL},
        ],
    )
    add(
        "dsn_qmail",
        "Return-Path: <>\n" + std("failure notice", "MAILER-DAEMON@qmail.example", "<qm@qmail>"),
        text_part(
            "Hi. This is the qmail-send program at qmail.example.\nI'm afraid I wasn't able to deliver your message to the "
            "following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work out.\n\n"
            "<nobody@example.com>:\n1.2.3.4 does not like recipient.\nRemote host said: 550 5.1.1 No such user\n"
            "Giving up on 1.2.3.4.\n\n--- Below this line is a copy of the message.\n\n" + ORIGINAL_HEADERS,
            "us-ascii",
        ),
        flags={"auto": True, "bounce": True, "noreply": True},
        bounces=[
            {"recipient": "nobody@example.com", "action": "failed", "status": "5.1.1", "original": ORIGINAL}
        ],
    )
    add(
        "dsn_vietnamese_provider",
        "Return-Path: <>\n"
        + std("Thư không gửi được", "Hệ thống thư <mailer-daemon@mail.vnpt.vn>", "<vn-dsn@vnpt>"),
        text_part(
            "Thư của bạn không thể gửi đến nobody@vnpt.vn.\nLý do: 550 5.1.1 Hộp thư không tồn tại.\n\n"
            "Thông tin thư gốc:\n" + ORIGINAL_HEADERS
        ),
        flags={"auto": True, "bounce": True, "noreply": True},
        bounces=[
            {"recipient": "nobody@vnpt.vn", "action": "failed", "status": "5.1.1", "original": ORIGINAL}
        ],
    )
    add_mime(
        "dsn_base64_status",
        daemon + std("Undeliverable", "postmaster@legacy.example", "<b64@legacy>"),
        multipart(
            "report",
            "b64b",
            [
                text_part("Delivery failed."),
                "Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
                + __import__("base64")
                .encodebytes(
                    b"Reporting-MTA: dns; legacy.example\n\nFinal-Recipient: rfc822; gone@example.org\n"
                    b"Action: failed\nStatus: 5.1.1\n"
                )
                .decode(),
                "Content-Type: text/rfc822-headers\n\n" + ORIGINAL_HEADERS,
            ],
            "; report-type=delivery-status",
        ),
        flags={"auto": True, "bounce": True, "noreply": True},
        bounces=[
            {"recipient": "gone@example.org", "action": "failed", "status": "5.1.1", "original": ORIGINAL}
        ],
    )
    add_mime(
        "mdn_read_receipt",
        std("Read: Your order", "John <john@company.com>", "<mdn@company.com>"),
        multipart(
            "report",
            "mdnb",
            [
                text_part("Your message was read on Monday."),
                "Content-Type: message/disposition-notification\n\nReporting-UA: Outlook\nFinal-Recipient: rfc822;"
                f"john@company.com\nOriginal-Message-ID: {OUR_MID}\nDisposition: manual-action/MDN-sent-manually; displayed\n",
            ],
            "; report-type=disposition-notification",
        ),
        flags={"receipt": True},
        bounces=[],
    )


def lists_and_auth() -> None:
    add(
        "mailman_list",
        std(
            "[vn-python] Meetup tháng 1",
            "Member <member@example.org>",
            "<list1@example.org>",
            "List-Id: Vietnam Python <vn-python.lists.example.org>\nList-Unsubscribe: <mailto:vn-python-leave@lists.example.org>\n"
            "Precedence: list\nList-Post: <mailto:vn-python@lists.example.org>",
        ),  # fmt: skip
        text_part("Meetup vào thứ Bảy."),
        flags={"auto": True, "bulk": True},
    )
    add_mime(
        "newsletter_one_click",
        std(
            "Khuyến mãi Tết",
            "Brand <news@brand.example>",
            "<nl@brand.example>",
            "List-Unsubscribe: <https://brand.example/u/opaque>, <mailto:unsub@brand.example?subject=u>\n"
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\nFeedback-ID: 123:brand:esp",
        ),  # fmt: skip
        multipart(
            "alternative",
            "nlb",
            [text_part("Giảm 50%"), html_part('<p>Giảm 50%</p><img src="https://brand.example/o.gif">')],
        ),
        flags={"bulk": True},
        remote_images=1,
    )
    add(
        "google_groups",
        std(
            "Need help with order",
            "Customer via Support Group <support-group@customer.example>",
            "<gg@customer.example>",
            "List-Id: <support-group.customer.example>\nList-Unsubscribe: <mailto:googlegroups-manage+1+unsubscribe@googlegroups.com>\n"
            "Mailing-list: list support-group@customer.example",
        ),  # fmt: skip
        text_part("Order 1234 is missing."),
        flags={"bulk": True},
    )
    add(
        "precedence_bulk",
        std("Weekly digest", "Digest <digest@forum.example>", "<pb@forum.example>", "Precedence: bulk"),
        text_part("Top posts."),
        flags={"auto": True, "bulk": True},
    )
    add(
        "noreply_transactional",
        std("Đơn hàng đã giao", "Giao Hàng Nhanh <noreply@ghn.example>", "<ghn@ghn.example>"),
        text_part("Đơn hàng đã giao thành công."),
        flags={"noreply": True},
    )
    add(
        "auth_results_trusted_pass",
        "Authentication-Results: mx.shop.vn;\n dkim=pass header.d=gmail.com header.s=20230601 header.b=AbCd;\n"
        " spf=pass (mx.shop.vn: domain of an.nguyen@gmail.com designates 209.85.1.1 as permitted sender) "
        "smtp.mailfrom=an.nguyen@gmail.com;\n dmarc=pass (p=NONE sp=QUARANTINE dis=NONE) header.from=gmail.com\n"
        + std("Hello", "Nguyễn Văn An <an.nguyen@gmail.com>", "<ar1@mail.gmail.com>"),
        text_part("Xin chào"),
        auth={"spf": "pass", "dkim": "pass", "dmarc": "pass", "found": True},
    )
    add(
        "auth_results_forged_by_sender",
        "Authentication-Results: mx.shop.vn; spf=fail smtp.mailfrom=shop.vn; dkim=none; dmarc=fail header.from=shop.vn\n"
        + std("Urgent invoice", f"{ew('support@shop.vn')} <billing@evil.example>", "<ar2@evil.example>")
        + "\nAuthentication-Results: mx.shop.vn; spf=pass; dkim=pass header.d=shop.vn; dmarc=pass",
        text_part("Pay now."),
        from_name="support@shop.vn",
        from_email="billing@evil.example",
        auth={"spf": "fail", "dkim": "none", "dmarc": "fail", "found": True},
        spoofed=True,
    )
    add(
        "auth_results_untrusted_only",
        "Authentication-Results: relay.evil.example; spf=pass; dkim=pass; dmarc=pass\n"
        + std("Hi", "Shop.vn Billing <billing@evil.example>", "<ar3@evil.example>"),
        text_part("x"),
        auth={"spf": "none", "dkim": "none", "dmarc": "none", "found": False},
        spoofed=True,
    )


def build() -> None:
    auto_replies()
    bounces()
    lists_and_auth()
