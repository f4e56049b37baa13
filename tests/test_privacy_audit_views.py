"""The audit log page: admins and owners of the workspace only; filters; keyset pages; chain status."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from hotro.accounts.models import User
from hotro.privacy import audit, views
from hotro.privacy.models import AuditEvent
from hotro.tenancy.actions import do_add_member
from hotro.tenancy.models import Role

pytestmark = pytest.mark.django_db


def _url(ws, **params):
    from urllib.parse import urlencode

    return reverse("privacy:audit_log", args=[ws.slug]) + (f"?{urlencode(params)}" if params else "")


def _member(ws, email, role):
    return do_add_member(ws, User.objects.create_user(username=email, email=email), role=role)


def test_admins_and_owners_see_their_workspace_log(client, ws_a, ws_b, owner_a):
    audit.record(ws_a.pk, audit.INBOX_CREATED, actor=owner_a.user, object_type="inbox", object_id="inbox-a")
    audit.record(ws_b.pk, audit.INBOX_CREATED, object_type="inbox", object_id="inbox-b")
    admin = _member(ws_a, "admin@alpha.test", Role.ADMIN)
    for user in (owner_a.user, admin.user):
        client.force_login(user)
        response = client.get(_url(ws_a))
        assert response.status_code == 200
        body = response.content.decode()
        assert "inbox-a" in body and "inbox-b" not in body
        assert response.context["chain_problem"] is None and response.context["latest_seq"] == 1


def test_agents_viewers_strangers_and_anonymous_are_refused(client, ws_a, owner_b):
    for role in (Role.AGENT, Role.VIEWER):
        client.force_login(_member(ws_a, f"{role}-x@alpha.test", role).user)
        assert client.get(_url(ws_a)).status_code == 403
    client.force_login(owner_b.user)
    assert client.get(_url(ws_a)).status_code == 404
    assert client.get(reverse("privacy:audit_log", args=["no-such-workspace"])).status_code == 404
    client.logout()
    response = client.get(_url(ws_a))
    assert response.status_code == 302 and "login" in response["Location"]


def test_inactive_members_are_refused(client, ws_a):
    admin = _member(ws_a, "old-admin@alpha.test", Role.ADMIN)
    admin.is_active = False
    admin.save()
    client.force_login(admin.user)
    assert client.get(_url(ws_a)).status_code == 404


def test_it_filters_by_action_actor_object_and_date(client, ws_a, owner_a):
    agent = _member(ws_a, "agent@alpha.test", Role.AGENT)
    audit.record(ws_a.pk, audit.CONTACT_VIEWED, actor=agent.user, object_type="contact", object_id="c1")
    audit.record(ws_a.pk, audit.CONTACT_REVEALED, actor=agent.user, object_type="contact", object_id="c2")
    audit.record(ws_a.pk, audit.EXPORT_CREATED, actor=owner_a.user, object_type="export", object_id="e1")
    client.force_login(owner_a.user)

    def seqs(**params):
        response = client.get(_url(ws_a, **params))
        assert response.status_code == 200
        return [e.seq for e in response.context["events"]]

    assert seqs() == [3, 2, 1]
    assert seqs(action=audit.CONTACT_REVEALED) == [2]
    assert seqs(actor=agent.user_id) == [2, 1]
    assert seqs(object_type="contact", object_id="c1") == [1]
    today = timezone.localdate(timezone=datetime.UTC)
    assert seqs(date_from=today - datetime.timedelta(days=1), date_to=today + datetime.timedelta(days=1)) == [
        3,
        2,
        1,
    ]
    assert seqs(date_from=today + datetime.timedelta(days=2)) == []
    assert seqs(action="not-an-action") == []


def test_it_pages_by_seq(client, ws_a, owner_a, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for i in range(5):
        audit.record(ws_a.pk, audit.CONTACT_VIEWED, object_id=f"c{i}")
    client.force_login(owner_a.user)
    pages, url = [], _url(ws_a, action=audit.CONTACT_VIEWED)
    while url:
        response = client.get(url)
        pages.append([e.seq for e in response.context["events"]])
        query = response.context["next_query"]
        assert query is None or "action=contact.viewed" in query
        url = f"{_url(ws_a)}?{query}" if query else None
    assert pages == [[5, 4], [3, 2], [1]]


def test_it_shows_the_first_broken_link(client, ws_a, owner_a):
    for i in range(3):
        audit.record(ws_a.pk, audit.CONTACT_VIEWED, object_id=f"c{i}")
    with audit.purge_scope():
        AuditEvent.objects.filter(workspace=ws_a, seq=2).delete()
    client.force_login(owner_a.user)
    response = client.get(_url(ws_a))
    problem = response.context["chain_problem"]
    assert (problem.seq, problem.kind) == (2, "missing")
    assert 'role="alert"' in response.content.decode()
