"""The suppression list: addresses automatic and marketing messages must not reach.

Looked up by blind index (HMAC of the normalized address) and confirmed by decrypting, so the list
holds no address in clear.
"""

from __future__ import annotations

from hotro.privacy import blind
from hotro.privacy.rls import in_workspace

from .models import Suppression


def _matches(workspace_id, channel: str, address: str):
    wanted = blind.normalize_address(channel, address)
    idx = blind.address_index(workspace_id, channel, address)
    return [
        s
        for s in Suppression.objects.filter(workspace_id=workspace_id, channel=channel, address_bidx=idx)
        if blind.normalize_address(channel, s.address or "") == wanted
    ]


@in_workspace("workspace_id")
def is_suppressed(workspace_id, channel: str, address: str) -> bool:
    return bool(address) and bool(_matches(workspace_id, channel, address))


@in_workspace("workspace_id", atomic=True)
def do_suppress(workspace_id, channel: str, address: str, reason: str) -> Suppression:
    """Add ``address`` (idempotent: an existing entry is returned unchanged)."""
    existing = _matches(workspace_id, channel, address)
    if existing:
        return existing[0]
    return Suppression.objects.create(
        workspace_id=workspace_id,
        channel=channel,
        address=address.strip(),
        address_bidx=blind.address_index(workspace_id, channel, address),
        reason=reason,
    )


@in_workspace("workspace_id", atomic=True)
def do_unsuppress(workspace_id, channel: str, address: str) -> int:
    matches = _matches(workspace_id, channel, address)
    for s in matches:
        s.delete()
    return len(matches)
