"""Masked contact details for viewers, and an audited reveal.

Viewers (read-only members) see ``a•••••n@e•••••.com`` / ``+84•••••4567`` / ``N••• V••• A•••``; a
reveal shows the plaintext and is written to the audit log (``contact.revealed``).  Agents, admins and
owners see plaintext; the UI records their opening a profile as ``contact.viewed``.  Masks use a fixed
number of dots so they do not give away the length of the value.
"""

from __future__ import annotations

import phonenumbers

from hotro.tenancy.models import Role

from . import audit

DOTS = "•••••"
SHORT_DOTS = "•••"
CONTACT_FIELDS = ("name", "email", "phone", "address")


def _mask_part(text: str, keep_last: bool = True) -> str:
    if not text:
        return ""
    if len(text) <= 2 or not keep_last:
        return text[0] + DOTS
    return text[0] + DOTS + text[-1]


def mask_email(value: str | None) -> str:
    """``an.nguyen@example.com`` -> ``a•••••n@e•••••.com``.

    First and last letter of the name, first letter of the domain, the top-level domain.
    """
    if not value:
        return ""
    local, at, domain = value.strip().rpartition("@")
    if not at:
        return _mask_part(value.strip())
    host, dot, tld = domain.rpartition(".")
    masked_domain = (
        f"{_mask_part(host, keep_last=False)}.{tld}" if dot and host else _mask_part(domain, False)
    )
    return f"{_mask_part(local)}@{masked_domain}"


def mask_phone(value: str | None) -> str:
    """``+84901234567`` -> ``+84•••••4567``: the country code and the last four digits."""
    if not value:
        return ""
    digits = "".join(ch for ch in value if ch.isdigit())
    prefix = ""
    if value.strip().startswith("+"):
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and number.country_code:
            prefix = f"+{number.country_code}"
            digits = str(number.national_number)
    keep = 4 if len(digits) >= 8 else min(2, max(len(digits) - 2, 0))
    return f"{prefix}{DOTS}{digits[-keep:] if keep else ''}"


def mask_name(value: str | None) -> str:
    """``Nguyễn Văn An`` -> ``N••• V••• A•••``: the initial of each word."""
    if not value:
        return ""
    return " ".join(word[0] + SHORT_DOTS for word in value.split())


def mask_text(value: str | None) -> str:
    """Anything else (an address): nothing of it shows."""
    return DOTS if value else ""


MASKS = {"name": mask_name, "email": mask_email, "phone": mask_phone, "address": mask_text}


def sees_plaintext(member) -> bool:
    """Agents, admins and owners see contact details as they are; viewers see masks."""
    return member.has_role(Role.AGENT)


def _plain(contact) -> dict:
    return {field: getattr(contact, field) or "" for field in CONTACT_FIELDS}


def visible_contact_fields(member, contact, revealed: bool = False) -> dict:
    """Display values of the contact's details for ``member``, plus ``masked`` (True if any is masked).

    ``revealed`` must only be passed after ``do_reveal_contact`` recorded the reveal.
    """
    if contact.workspace_id != member.workspace_id:
        raise ValueError("The contact is not in the member's workspace.")
    values = _plain(contact)
    if revealed or sees_plaintext(member):
        return {**values, "masked": False}
    return {**{field: MASKS[field](values[field]) for field in CONTACT_FIELDS}, "masked": True}


def do_reveal_contact(member, contact, request=None) -> dict:
    """Record ``contact.revealed`` (in the caller's transaction) and return the plaintext details.

    Trusted: the caller has fetched ``contact`` through ``access_contact(member, ...)``.
    """
    if contact.workspace_id != member.workspace_id:
        raise ValueError("The contact is not in the member's workspace.")
    values = _plain(contact)
    details = {
        "object_type": "contact",
        "object_id": str(contact.pk),
        "data": {"fields": [field for field in CONTACT_FIELDS if values[field]], "role": member.role},
    }
    if request is not None:
        audit.record_request(request, member, audit.CONTACT_REVEALED, **details)
    else:
        audit.record(member.workspace_id, audit.CONTACT_REVEALED, actor=member.user, **details)
    return {**values, "masked": False}
