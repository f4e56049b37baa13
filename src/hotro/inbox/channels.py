"""What the conversation view adds for a channel's own features: public replies and the product a
comment is about (product comments), typing and read state (live chat)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.urls import NoReverseMatch, reverse

from hotro.conversations.models import Direction

LIVECHAT = "livechat"
COMMENTS = "comments"


def safe_http_url(value) -> str:
    """``value`` if it is an absolute http(s) URL with a host, else '' (no javascript:, data:, ...)."""
    if not isinstance(value, str) or not value or len(value) > 2000:
        return ""
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        return ""
    return value


@dataclass
class Product:
    url: str = ""
    product_id: str = ""
    title: str = ""


@dataclass
class ChannelFeatures:
    public_replies: bool = False
    default_public: bool = False
    livechat: bool = False
    typing_url: str = ""
    product: Product | None = None


def has_feature(connector_key: str, feature: str) -> bool:
    from hotro.connectors.registry import get_connector

    try:
        return get_connector(connector_key).has_feature(feature)
    except (KeyError, LookupError, ValueError):
        return False


def product_of(thread) -> Product | None:
    """The product of the newest inbound message that names one (comments put it in ``extra``)."""
    for message in reversed(thread):
        if message.direction != Direction.INBOUND:
            continue
        extra = message.extra if isinstance(message.extra, dict) else {}
        url = safe_http_url(extra.get("product_url"))
        product_id = str(extra.get("product_id") or "")[:255]
        if url or product_id:
            return Product(url=url, product_id=product_id, title=str(extra.get("product_title") or "")[:300])
    return None


def first_inbound_kind(thread) -> str:
    for message in thread:
        if message.direction == Direction.INBOUND:
            extra = message.extra if isinstance(message.extra, dict) else {}
            return str(extra.get("kind") or "")
    return ""


def channel_features(conversation, thread) -> ChannelFeatures:
    connector = conversation.inbox.connector
    features = ChannelFeatures()
    if has_feature(connector, "public_replies"):
        features.public_replies = True
        # questions are answered on the page by default; anything else privately
        features.default_public = first_inbound_kind(thread) == "question"
    if connector == COMMENTS or features.public_replies:
        features.product = product_of(thread)
    if connector == LIVECHAT:
        features.livechat = True
        try:
            features.typing_url = reverse(
                "livechat:agent_typing", kwargs={"conversation_id": conversation.pk}
            )
        except NoReverseMatch:
            features.typing_url = ""
    return features
