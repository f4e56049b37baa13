"""Per-inbox moderation policy, input limits and spam heuristics (pure functions, no database).

Inbox ``settings`` keys of a comments inbox (all optional except ``allowed_origins``)::

    moderation         "pending" | "publish" | "publish_verified"   (default "pending")
    comments_to_inbox  also turn plain comments (not only questions) into conversations (False)
    max_links          links allowed in one comment (default 1; 0 forbids links)
    blocked_words      words that mark a comment as spam
    business_name      name shown on public replies (default: the workspace's name)
    language           "vi" | "en": the widget's language when the page does not say
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

MODERATION_PENDING = "pending"  # every comment waits for an admin
MODERATION_PUBLISH = "publish"  # published at once (spam heuristics still hold some back)
MODERATION_PUBLISH_VERIFIED = "publish_verified"  # published at once for visitors the site verified
MODERATION_MODES = (MODERATION_PENDING, MODERATION_PUBLISH, MODERATION_PUBLISH_VERIFIED)

MAX_TEXT = 2000
MIN_TEXT = 2
MAX_NAME = 80
MAX_EMAIL = 254
MAX_PRODUCT_ID = 255
MAX_PRODUCT_URL = 2000
MAX_TITLE = 300
DEFAULT_MAX_LINKS = 1
PAGE_SIZE = 10
MAX_PAGE_SIZE = 50

# rate limits: (count, window seconds)
POSTS_PER_VISITOR = (5, 600)
POSTS_PER_IP = (20, 3600)
VOTES_PER_VISITOR = (60, 3600)
SESSIONS_PER_IP = (30, 3600)
READS_PER_IP = (600, 600)

LINK = re.compile(
    r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|vn|info|biz|xyz|top|ru|cn|io|co|me|ly)\b(?:/\S*)?",
    re.IGNORECASE | re.UNICODE,
)
REPEATED = re.compile(r"(.)\1{11,}", re.DOTALL)


def moderation_mode(inbox) -> str:
    mode = (inbox.settings or {}).get("moderation", MODERATION_PENDING)
    return mode if mode in MODERATION_MODES else MODERATION_PENDING


def max_links(inbox) -> int:
    try:
        return max(0, int((inbox.settings or {}).get("max_links", DEFAULT_MAX_LINKS)))
    except (TypeError, ValueError):
        return DEFAULT_MAX_LINKS


def count_links(text: str) -> int:
    return len(LINK.findall(text or ""))


def clean_text(text: str) -> str:
    """Normalize (NFC), drop control characters except newlines, collapse runs of blank lines."""
    text = unicodedata.normalize("NFC", str(text or ""))
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = re.sub(r"\n{3,}", "\n\n", text.replace("\r", ""))
    return text.strip()


def clean_line(text: str) -> str:
    return " ".join(clean_text(text).split())


@dataclass
class Verdict:
    """What the heuristics think of one comment: ``reasons`` name the signals that fired."""

    reasons: list[str] = field(default_factory=list)

    @property
    def score(self) -> int:
        return sum(2 if r in STRONG_SIGNALS else 1 for r in self.reasons)

    @property
    def is_spam(self) -> bool:
        return self.score >= 2

    @property
    def needs_review(self) -> bool:
        return self.score >= 1


STRONG_SIGNALS = {"honeypot", "blocked_word"}  # alone enough to call it spam


def judge(
    text: str,
    *,
    inbox_settings: dict,
    verified: bool,
    honeypot: str = "",
    seconds_on_page: float | None = None,
    recent_copies: int = 0,
) -> Verdict:
    """Spam heuristics.  ``recent_copies``: how many other recent comments in the inbox have the
    same text (copy-paste floods); ``seconds_on_page``: time between the form opening and posting."""
    verdict = Verdict()
    if honeypot:
        verdict.reasons.append("honeypot")
    if seconds_on_page is not None and 0 <= seconds_on_page < 2:
        verdict.reasons.append("too_fast")
    folded = text.casefold()
    blocked = [str(w).casefold() for w in inbox_settings.get("blocked_words") or [] if str(w).strip()]
    if any(w in folded for w in blocked):
        verdict.reasons.append("blocked_word")
    if count_links(text) and not verified:
        verdict.reasons.append("link")
    if REPEATED.search(text):
        verdict.reasons.append("repeated_characters")
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 20 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        verdict.reasons.append("shouting")
    if recent_copies:
        verdict.reasons.append("copied_text")
    return verdict


def initial_status(inbox, verdict: Verdict, *, verified: bool) -> str:
    from .models import CommentStatus

    if verdict.is_spam:
        return CommentStatus.SPAM
    if verdict.needs_review:
        return CommentStatus.PENDING
    mode = moderation_mode(inbox)
    if mode == MODERATION_PUBLISH or (mode == MODERATION_PUBLISH_VERIFIED and verified):
        return CommentStatus.PUBLISHED
    return CommentStatus.PENDING


def validation_errors(*, text: str, name: str, email: str, links_allowed: int) -> dict[str, str]:
    """Field -> sentence for every limit the input breaks (empty when it is fine)."""
    errors: dict[str, str] = {}
    if len(text) < MIN_TEXT:
        errors["text"] = _("Write at least %(n)s characters.") % {"n": MIN_TEXT}
    elif len(text) > MAX_TEXT:
        errors["text"] = _("Your comment is %(len)s characters long; shorten it to at most %(n)s.") % {
            "len": len(text),
            "n": MAX_TEXT,
        }
    elif count_links(text) > links_allowed:
        errors["text"] = (
            _("Links are not allowed in comments; remove them and try again.")
            if links_allowed == 0
            else _("A comment may contain at most %(n)s link(s); remove some and try again.")
            % {"n": links_allowed}
        )
    if not name:
        errors["name"] = _("Enter the name to show with your comment.")
    elif len(name) > MAX_NAME:
        errors["name"] = _("Shorten your name to at most %(n)s characters.") % {"n": MAX_NAME}
    if email:
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        try:
            if len(email) > MAX_EMAIL:
                raise ValidationError("too long")
            validate_email(email)
        except ValidationError:
            errors["email"] = _("Enter a valid e-mail address, or leave it empty.")
    return errors
