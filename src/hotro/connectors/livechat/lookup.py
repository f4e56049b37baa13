"""Finding a live-chat inbox by its public key (crosses workspaces, so under the system scope)."""

from __future__ import annotations

from hotro.privacy.rls import system_scope

from ..models import Inbox


def find_livechat_inbox(public_key: str) -> Inbox | None:
    if not public_key or len(public_key) > 32:
        return None
    with system_scope():
        return Inbox.objects.filter(connector="livechat", is_active=True, public_key=public_key).first()
