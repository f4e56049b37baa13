"""The product comments channel: a widget per product page with public threaded comments and
questions, moderation, and questions answered from the agent inbox.  Entry points for other areas
live in ``inboxes`` (``create_comments_inbox``) and ``actions``.  Docs: docs/channels/comments.md."""
