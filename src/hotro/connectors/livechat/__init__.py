"""The live-chat channel: an embeddable widget (one <script> tag), visitors over WebSocket or
long-poll, identity verification, pre-chat consents, CSAT.  Entry points for other areas:
``create_livechat_inbox``, ``agent_typing``.  Protocol and embedding: docs/channels/livechat.md."""


def create_livechat_inbox(workspace, name, allowed_origins, **options):
    from .inboxes import create_livechat_inbox as create

    return create(workspace, name, allowed_origins, **options)


def agent_typing(member, conversation, typing: bool = True) -> None:
    from .actions import agent_typing as signal

    signal(member, conversation, typing)


__all__ = ["agent_typing", "create_livechat_inbox"]
