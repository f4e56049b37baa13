"""Pieces shared by the embeddable widgets (live chat, product comments): identity verification,
visitor tokens, allowed origins, CORS, rate limits.  See docs/channels/livechat.md."""
