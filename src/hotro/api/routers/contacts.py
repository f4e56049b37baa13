"""Contacts: list (keyset), lookup by e-mail or phone (blind indexes), read, correct."""

from ninja import Query, Router, Schema
from pydantic import Field

from hotro.contacts.actions import check_update_contact
from hotro.contacts.models import Contact
from hotro.privacy.search import find_contacts_by_email, find_contacts_by_phone
from hotro.tenancy.access import access_contact

from .. import serialize
from ..auth import workspace_scoped
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, paginate
from ..schemas import ERRORS, ContactOut, ContactPage, ContactPatch

router = Router(tags=["contacts"])


class ContactFilters(Schema):
    email: str | None = Field(default=None, max_length=254, description="Exact address, any letter case.")
    phone: str | None = Field(default=None, max_length=40, description="Any common spelling of the number.")
    cursor: str | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


@router.get("", response={200: ContactPage, **ERRORS}, summary="List contacts, or find by e-mail/phone")
@workspace_scoped
def list_contacts(request, filters: Query[ContactFilters]):
    workspace_id = request.auth.workspace_id
    if filters.email is not None or filters.phone is not None:
        found = None
        if filters.email is not None:
            found = find_contacts_by_email(workspace_id, filters.email)
        if filters.phone is not None:
            by_phone = find_contacts_by_phone(workspace_id, filters.phone)
            found = by_phone if found is None else [c for c in found if c.pk in {p.pk for p in by_phone}]
        return {"items": [serialize.contact(c) for c in found[: filters.limit]], "next_cursor": None}
    rows, next_cursor = paginate(
        Contact.objects.filter(workspace_id=workspace_id),
        fields=("created_at", "id"),
        descending=True,
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return {"items": [serialize.contact(c) for c in rows], "next_cursor": next_cursor}


@router.get("/{contact_id}", response={200: ContactOut, **ERRORS}, summary="Get a contact")
@workspace_scoped
def get_contact(request, contact_id: str):
    from hotro.privacy.audit import CONTACT_VIEWED, record_request

    member = request.auth.membership
    contact = access_contact(member, contact_id)
    record_request(request, member, CONTACT_VIEWED, object_type="contact", object_id=str(contact.pk))
    return serialize.contact(contact)


@router.patch("/{contact_id}", response={200: ContactOut, **ERRORS}, summary="Correct a contact's details")
@workspace_scoped
def update_contact(request, contact_id: str, payload: ContactPatch):
    member = request.auth.membership
    contact = access_contact(member, contact_id)
    changes = payload.model_dump(include=payload.model_fields_set)
    return serialize.contact(check_update_contact(member, contact, **changes))
