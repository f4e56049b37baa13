"""Message HTML in the conversation pane is sanitized again at render time, whatever is stored."""

from __future__ import annotations

import pytest

from hotro.inbox.templatetags.inbox_tags import sanitized_html
from hotro.privacy.rls import tenant_scope
from inbox_helpers import make_inbox, receive

pytestmark = pytest.mark.django_db

HOSTILE = (
    '<p>Xin chào <b>shop</b></p><script>alert("x")</script>'
    '<img src="x" onerror="alert(1)"><a href="javascript:alert(2)">link</a>'
)


def test_it_strips_scripts_from_html_written_directly_to_the_database(client, owner_a, ws_a):
    message = receive(make_inbox(ws_a), "m-html")
    with tenant_scope(ws_a.pk):
        message.text = ""
        message.html = HOSTILE  # bypassing receive's sanitize-on-write, as an import or a bug could
        message.save()
    client.force_login(owner_a.user)
    page = client.get(f"/w/alpha/c/{message.conversation.number}/").content.decode()
    assert "Xin chào <b>shop</b>" in page  # the allowed markup is still rendered as HTML
    assert 'alert("x")' not in page and "<script>alert" not in page
    assert "onerror" not in page and "javascript:alert" not in page


def test_the_filter_keeps_allowed_tags_and_marks_the_result_safe():
    cleaned = sanitized_html(HOSTILE)
    assert cleaned.startswith("<p>Xin chào <b>shop</b></p>")
    assert "script" not in cleaned and "onerror" not in cleaned and "javascript:" not in cleaned
    assert hasattr(cleaned, "__html__")
    assert sanitized_html("") == "" and sanitized_html(None) == ""
