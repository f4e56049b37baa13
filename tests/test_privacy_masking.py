"""Viewers see masked contact details; a reveal shows them and is audited."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from hotro.accounts.models import User
from hotro.contacts.models import Contact
from hotro.privacy import audit
from hotro.privacy.masking import (
    do_reveal_contact,
    mask_email,
    mask_name,
    mask_phone,
    visible_contact_fields,
)
from hotro.privacy.models import AuditEvent
from hotro.tenancy.actions import do_add_member
from hotro.tenancy.models import Role


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("an.nguyen@example.com", "a•••••n@e•••••.com"),
        ("b@mail.co.vn", "b•••••@m•••••.vn"),
        ("AN@EXAMPLE.COM", "A•••••@E•••••.COM"),
        ("not-an-email", "n•••••l"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_email(value, masked):
    assert mask_email(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+84901234567", "+84•••••4567"),
        ("+84 90 123 4567", "+84•••••4567"),
        ("+14155552671", "+1•••••2671"),
        ("0901234567", "•••••4567"),
        ("12345", "•••••45"),
        ("", ""),
    ],
)
def test_mask_phone(value, masked):
    assert mask_phone(value) == masked


def test_mask_name_keeps_initials_only():
    assert mask_name("Nguyễn Văn An") == "N••• V••• A•••"
    assert mask_name("  Ánh  ") == "Á•••"
    assert mask_name("") == ""


@pytest.fixture
def contact(ws_a):
    return Contact.objects.create(
        workspace=ws_a,
        name="Nguyễn Văn An",
        email="an.nguyen@example.com",
        phone="+84901234567",
        address="12 Lý Thường Kiệt, Hà Nội",
    )


def _member(ws, email, role):
    user = User.objects.create_user(username=email, email=email)
    return do_add_member(ws, user, role=role)


@pytest.mark.django_db
def test_viewers_see_masks_until_they_reveal(ws_a, contact):
    viewer = _member(ws_a, "viewer@alpha.test", Role.VIEWER)
    shown = visible_contact_fields(viewer, contact)
    assert shown == {
        "name": "N••• V••• A•••",
        "email": "a•••••n@e•••••.com",
        "phone": "+84•••••4567",
        "address": "•••••",
        "masked": True,
    }
    assert "an.nguyen" not in str(shown) and "Lý" not in str(shown)
    revealed = visible_contact_fields(viewer, contact, revealed=True)
    assert revealed["email"] == "an.nguyen@example.com" and revealed["masked"] is False


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.AGENT, Role.ADMIN, Role.OWNER])
def test_agents_and_above_see_plaintext(ws_a, contact, role):
    member = _member(ws_a, f"{role}-member@alpha.test", role)
    shown = visible_contact_fields(member, contact)
    assert shown["phone"] == "+84901234567" and shown["name"] == "Nguyễn Văn An" and shown["masked"] is False


@pytest.mark.django_db
def test_a_reveal_is_audited_without_the_values(ws_a, contact):
    viewer = _member(ws_a, "viewer@alpha.test", Role.VIEWER)
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.4")
    request.user = viewer.user
    values = do_reveal_contact(viewer, contact, request=request)
    assert values["email"] == "an.nguyen@example.com" and values["masked"] is False
    event = AuditEvent.objects.get(workspace=ws_a)
    assert (event.action, event.object_type, event.object_id) == (
        audit.CONTACT_REVEALED,
        "contact",
        str(contact.pk),
    )
    assert event.actor_id == viewer.user_id and event.ip == "198.51.100.4"
    assert event.data == {"fields": ["name", "email", "phone", "address"], "role": "viewer"}
    assert "example.com" not in str(event.data) and "example.com" not in event.actor_label
    do_reveal_contact(viewer, contact)
    assert AuditEvent.objects.filter(workspace=ws_a).count() == 2
    assert audit.verify_chain(ws_a.pk) == []


@pytest.mark.django_db
def test_contacts_of_another_workspace_are_refused(owner_b, contact):
    with pytest.raises(ValueError):
        visible_contact_fields(owner_b, contact)
    with pytest.raises(ValueError):
        do_reveal_contact(owner_b, contact)
    assert not AuditEvent.objects.exists()
