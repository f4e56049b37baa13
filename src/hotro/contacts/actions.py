"""Finding and creating contacts through blind indexes (no plaintext ever queried)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from hotro.privacy import blind
from hotro.privacy.rls import in_workspace

from .models import Contact, ContactIdentity


@in_workspace("workspace_id")
def find_identity(workspace_id, channel: str, address: str) -> ContactIdentity | None:
    """The identity for ``channel``/``address`` (any spelling of an e-mail or phone), by its exact
    key: one indexed lookup, never another sender whose blind index happens to be the same."""
    key = blind.identity_key(workspace_id, channel, address)
    return (
        ContactIdentity.objects.filter(workspace_id=workspace_id, channel=channel, address_key=key)
        .select_related("contact")
        .first()
    )


LOOK_UP = object()  # do_resolve_contact(found=...) default: look the identity up


@in_workspace("workspace_id")
def do_resolve_contact(
    workspace_id,
    *,
    channel: str,
    address: str,
    name: str = "",
    email: str = "",
    phone: str = "",
    found=LOOK_UP,
) -> tuple[ContactIdentity, bool]:
    """The identity (and its contact) for a sender, created when new.  Returns (identity, created).

    A new identity joins an existing contact when its e-mail or phone matches one on file.
    ``found``: what ``find_identity`` just returned for the same sender in this transaction (an
    identity or None), so it is not looked up twice.
    """
    identity = find_identity(workspace_id, channel, address) if found is LOOK_UP else found
    if identity is None:
        # The INSERT is guarded by the unique (workspace, channel, address_key) index: when another
        # worker created the same sender first, it waits for that commit, fails, and the savepoint
        # gives way to the row that won.  Never two contacts for one sender.
        try:
            with transaction.atomic():
                return _create_identity(
                    workspace_id, channel=channel, address=address, name=name, email=email, phone=phone
                ), True
        except IntegrityError:
            identity = find_identity(workspace_id, channel, address)
            if identity is None:
                raise
    fill_contact(identity.contact, name=name, email=email, phone=phone)
    return identity, False


@in_workspace("contact")
def fill_contact(contact, *, name: str = "", email: str = "", phone: str = "") -> None:
    """Fill the contact's empty name / e-mail / phone (with their blind indexes); never overwrite."""
    changed = []
    if name and not contact.name:
        contact.name = name
        changed.append("name")
    if email and not contact.email:
        contact.email, contact.email_bidx = email, blind.email_index(contact.workspace_id, email)
        changed += ["email", "email_bidx"]
    if phone and not contact.phone:
        contact.phone, contact.phone_bidx = phone, blind.phone_index(contact.workspace_id, phone)
        changed += ["phone", "phone_bidx"]
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])


def _create_identity(workspace_id, *, channel: str, address: str, name: str, email: str, phone: str):
    if channel == "email" and not email:
        email = address
    if channel == "phone" and not phone:
        phone = address
    contact = None
    if email:
        contact = _contact_by(workspace_id, "email", email)
    if contact is None and phone:
        contact = _contact_by(workspace_id, "phone", phone)
    if contact is None:
        contact = Contact.objects.create(
            workspace_id=workspace_id,
            name=name or None,
            email=email or None,
            email_bidx=blind.email_index(workspace_id, email) if email else None,
            phone=phone or None,
            phone_bidx=blind.phone_index(workspace_id, phone) if phone else None,
        )
    return _add_identity(contact, channel, address, name)


def _add_identity(contact: Contact, channel: str, address: str, name: str = "", *, verified=False):
    workspace_id = contact.workspace_id
    return ContactIdentity.objects.create(
        workspace_id=workspace_id,
        contact=contact,
        channel=channel,
        address=address,
        address_bidx=blind.address_index(workspace_id, channel, address),
        address_key=blind.identity_key(workspace_id, channel, address),
        display_name=name or None,
        is_verified=verified,
    )


@in_workspace("contact")
def do_add_identity(contact: Contact, channel: str, address: str, name: str = "", *, verified=False):
    """Give ``contact`` the identity ``channel``/``address`` unless some contact has it already;
    returns the identity that holds the address (this contact's new one, or the existing one)."""
    try:
        with transaction.atomic():
            return _add_identity(contact, channel, address, name, verified=verified)
    except IntegrityError:
        existing = find_identity(contact.workspace_id, channel, address)
        if existing is None:
            raise
        return existing


def _contact_by(workspace_id, kind: str, value: str) -> Contact | None:
    if kind == "email":
        idx, norm = blind.email_index(workspace_id, value), blind.normalize_email(value)
        for c in Contact.objects.filter(workspace_id=workspace_id, email_bidx=idx, merged_into=None):
            if c.email and blind.normalize_email(c.email) == norm:
                return c
        return None
    idx = blind.phone_index(workspace_id, value)
    if idx is None:
        return None
    norm = blind.normalize_phone(value)
    for c in Contact.objects.filter(workspace_id=workspace_id, phone_bidx=idx, merged_into=None):
        if c.phone and blind.normalize_phone(c.phone) == norm:
            return c
    return None


# --- corrections (API PATCH, data-subject correction) ---------------------------------------------
CORRECTABLE_FIELDS = ("name", "email", "phone", "address", "attributes")


def check_update_contact(member, contact: Contact, **changes) -> Contact:
    """Correct a contact's details (agents and up); blind indexes follow the new values.

    ``changes`` holds only the fields to change (``None`` or "" clears one).  E-mail and phone are
    validated; the audit record names the changed fields, never their values.
    """
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email
    from django.utils.translation import gettext as _

    from hotro.tenancy.access import require_writer

    require_writer(member)
    if contact.workspace_id != member.workspace_id:
        raise ValidationError("Contact of another workspace.")
    unknown = set(changes) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not a correctable contact field: {sorted(unknown)}")
    cleaned = {}
    for field, given in changes.items():
        if field == "attributes":
            if given is not None and not isinstance(given, dict):
                raise ValidationError(_("Attributes are a JSON object of names and values."))
            cleaned[field] = given or None
            continue
        value = (given or "").strip()
        if field == "email" and value:
            try:
                validate_email(value)
            except ValidationError as exc:
                raise ValidationError(_("Enter a valid e-mail address, like name@example.com.")) from exc
        if field == "phone" and value and blind.normalize_phone(value) is None:
            raise ValidationError(_("Enter a valid phone number, with its country code if not Vietnamese."))
        cleaned[field] = value or None
    return do_update_contact(contact, actor=member, **cleaned)


@in_workspace("contact", atomic=True)
def do_update_contact(contact: Contact, *, actor=None, **changes) -> Contact:
    """Write the changed fields and their blind indexes; audit ``contact.updated`` (field names only)."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    changed = [field for field, value in changes.items() if getattr(contact, field) != value]
    if not changed:
        return contact
    update_fields = [*changed, "updated_at"]
    for field in changed:
        setattr(contact, field, changes[field])
    if "email" in changed:
        contact.email_bidx = blind.email_index(contact.workspace_id, contact.email) if contact.email else None
        update_fields.append("email_bidx")
    if "phone" in changed:
        contact.phone_bidx = blind.phone_index(contact.workspace_id, contact.phone) if contact.phone else None
        update_fields.append("phone_bidx")
    contact.save(update_fields=update_fields)
    from hotro.privacy.audit import record

    record(
        contact.workspace_id,
        "contact.updated",
        actor=actor.user if actor is not None else None,
        object_type="contact",
        object_id=contact.pk,
        data={"fields": sorted(changed)},
    )
    return contact
