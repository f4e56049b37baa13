"""Posting comments, helpful votes, moderation and business replies.

``check_*`` validates what a visitor or member sent, then calls the trusted ``do_*`` (atomic).  Public
callers (the widget API) have no member: they pass the inbox and the visitor's token claims, and
everything runs in ``tenant_scope(inbox.workspace_id)``.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import timedelta
from hashlib import sha256
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from hotro.privacy import audit, blind, crypto, keys
from hotro.privacy.rls import in_workspace, tenant_scope
from hotro.tenancy.access import require_admin

from . import policy
from .models import Comment, CommentStatus, Kind, Product, Vote

COMMENT_MODERATED = "comment.moderated"
EVENT_PREFIX = "comment:"
DUPLICATE_WINDOW = timedelta(days=1)  # the same text again within this is a duplicate / a copy


class CommentRefused(Exception):
    """A visitor's request was refused; ``message`` is a sentence to show them."""

    def __init__(
        self, message: str, *, status: int = 400, code: str = "invalid", fields=None, retry_after=None
    ):
        super().__init__(message)
        self.message, self.status, self.code = message, status, code
        self.fields = fields or {}
        self.retry_after = retry_after


@dataclass
class CommentInput:
    product_id: str
    product_url: str
    text: str
    name: str
    product_title: str = ""
    email: str = ""
    kind: str = Kind.COMMENT
    parent_id: str = ""
    buyer_hash: str = ""
    honeypot: str = ""
    seconds_on_page: float | None = None


# --- keyed hashes and signatures ------------------------------------------------------------------
def keyed_hash(workspace_id, purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` with the workspace's index key for ``purpose`` (hex, 64 chars)."""
    return crypto.blind_hmac(keys.index_key(workspace_id, f"comments:{purpose}"), value, 32).hex()


def text_key(workspace_id, text: str) -> str:
    return keyed_hash(workspace_id, "text", " ".join(blind.words(text)))


def buyer_message(user_id: str, product_id: str) -> str:
    """What the site signs to claim "user bought product": ``user_id|buyer|product_id``."""
    return f"{user_id}|buyer|{product_id}"


def buyer_signature(secret: str, user_id: str, product_id: str) -> str:
    return hmac.new(secret.encode(), buyer_message(user_id, product_id).encode(), sha256).hexdigest()


def verify_buyer(inbox, user_id: str | None, product_id: str, signature: str) -> bool:
    """True when ``signature`` is the site's HMAC of ``user_id|buyer|product_id`` (constant time).

    The claim names the verified user and the product, so a badge signed for one user or product
    cannot be replayed for another."""
    from hotro.connectors.widget.identity import identity_secret

    if not user_id or not isinstance(signature, str) or len(signature) > 128:
        return False
    expected = buyer_signature(identity_secret(inbox), user_id, product_id)
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


# --- posting --------------------------------------------------------------------------------------
def goes_to_inbox(inbox, root: Comment) -> bool:
    """Questions always become conversations; comments when the inbox's policy says so."""
    return root.kind == Kind.QUESTION or bool((inbox.settings or {}).get("comments_to_inbox"))


def check_post_comment(inbox, claims, data: CommentInput) -> Comment:
    """Validate and store one visitor comment; raises ``CommentRefused`` with a sentence."""
    from hotro.connectors.widget.origins import origin_allowed

    text = policy.clean_text(data.text)
    name = policy.clean_line(data.name)
    email = policy.clean_line(data.email)
    product_id = policy.clean_line(data.product_id)
    product_url = (data.product_url or "").strip()
    title = policy.clean_line(data.product_title)[: policy.MAX_TITLE]
    if not product_id or len(product_id) > policy.MAX_PRODUCT_ID:
        raise CommentRefused(_("This page has no valid product id (data-product-id)."), code="bad_product")
    if (
        len(product_url) > policy.MAX_PRODUCT_URL
        or urlsplit(product_url).scheme not in {"http", "https"}
        or not origin_allowed(inbox, origin_of(product_url))
    ):
        raise CommentRefused(
            _("The product address (data-product-url) must be a page of this website."), code="bad_product"
        )
    if data.kind not in Kind.values:
        raise CommentRefused(_("Choose whether this is a comment or a question."), code="invalid")
    errors = policy.validation_errors(
        text=text, name=name, email=email, links_allowed=policy.max_links(inbox)
    )
    if errors:
        raise CommentRefused(next(iter(errors.values())), code="invalid", fields=errors)
    verified = claims.verified_user_id is not None
    buyer = False
    if data.buyer_hash:
        if not verify_buyer(inbox, claims.verified_user_id, product_id, data.buyer_hash):
            raise CommentRefused(
                _(
                    "Your purchase could not be verified, so the comment was not posted. "
                    "Reload the page and try again."
                ),
                status=403,
                code="buyer_not_verified",
            )
        buyer = True

    workspace_id = inbox.workspace_id
    address = claims.sender_address
    author = keyed_hash(workspace_id, "author", address)
    digest = text_key(workspace_id, text)
    now = timezone.now()
    with tenant_scope(workspace_id), transaction.atomic():
        product = Product.objects.filter(inbox=inbox, external_id=product_id).first()
        parent = None
        if data.parent_id:
            parent = _find_parent(product, data.parent_id, author)
        if Comment.objects.filter(
            workspace_id=workspace_id,
            author_key=author,
            text_key=digest,
            created_at__gte=now - DUPLICATE_WINDOW,
        ).exists():
            raise CommentRefused(_("You already posted this comment."), status=409, code="duplicate")
        copies = Comment.objects.filter(
            workspace_id=workspace_id, text_key=digest, created_at__gte=now - DUPLICATE_WINDOW
        ).count()
        verdict = policy.judge(
            text,
            inbox_settings=inbox.settings or {},
            verified=verified,
            honeypot=data.honeypot,
            seconds_on_page=data.seconds_on_page,
            recent_copies=copies,
        )
        if product is None:
            product = do_add_product(inbox, product_id, product_url, title)
        return do_post_comment(
            inbox,
            product,
            parent=parent,
            kind=Kind.COMMENT if parent else data.kind,
            name=name,
            email=email,
            text=text,
            address=address,
            status=policy.initial_status(inbox, verdict, verified=verified),
            verified=verified,
            buyer=buyer,
            spam_reasons=verdict.reasons,
            author_key=author,
            text_digest=digest,
        )


def _find_parent(product, parent_id: str, author: str) -> Comment:
    """The thread root to reply under (replies to a reply join its thread: two levels, as on
    Facebook).  Published comments, or the visitor's own pending one."""
    missing = CommentRefused(
        _("The comment you are replying to is no longer available."), status=404, code="no_parent"
    )
    if product is None:
        raise missing
    try:
        parent = Comment.objects.select_related("parent").get(product=product, pk=parent_id)
    except (Comment.DoesNotExist, ValueError, TypeError, ValidationError) as exc:  # or a malformed UUID
        raise missing from exc
    root = parent.root
    for item in {parent, root}:
        if item.status != CommentStatus.PUBLISHED and not (
            item.status == CommentStatus.PENDING and item.author_key == author
        ):
            raise missing
    return root


@in_workspace("inbox")
def do_add_product(inbox, product_id: str, url: str, title: str) -> Product:
    try:
        with transaction.atomic():
            return Product.objects.create(
                workspace_id=inbox.workspace_id, inbox=inbox, external_id=product_id, url=url, title=title
            )
    except IntegrityError:
        return Product.objects.get(inbox=inbox, external_id=product_id)


@in_workspace("inbox", atomic=True)
def do_post_comment(
    inbox,
    product: Product,
    *,
    parent: Comment | None,
    kind: str,
    name: str,
    email: str,
    text: str,
    address: str,
    status: str,
    verified: bool = False,
    buyer: bool = False,
    spam_reasons=(),
    author_key: str | None = None,
    text_digest: str | None = None,
) -> Comment:
    """Store a visitor's comment; when it belongs in the agent inbox (and is not spam), store the
    inbound raw event in the same transaction (processed into a conversation after commit).
    ``author_key`` / ``text_digest``: the keyed hashes of ``address`` / ``text`` when the caller
    computed them already."""
    now = timezone.now()
    comment = Comment.objects.create(
        workspace_id=inbox.workspace_id,
        product=product,
        parent=parent,
        kind=kind,
        author_name=name,
        author_email=email or None,
        author_address=address,
        author_key=author_key or keyed_hash(inbox.workspace_id, "author", address),
        text=text,
        text_key=text_digest or text_key(inbox.workspace_id, text),
        status=status,
        is_verified=verified,
        is_verified_buyer=buyer,
        spam_reasons=list(spam_reasons),
        published_at=now if status == CommentStatus.PUBLISHED else None,
    )
    if status != CommentStatus.SPAM:
        forward_to_inbox(inbox, comment)
    return comment


def forward_to_inbox(inbox, comment: Comment) -> bool:
    """Queue the comment as an inbound message when its thread belongs in the agent inbox.
    Idempotent (the raw event id is the comment's id).  Returns whether it belongs there."""
    from hotro.connectors.ingress import accept_event

    root = comment.root
    if comment.is_business_reply or not goes_to_inbox(inbox, root):
        return False
    if comment.contact_id is None:
        from hotro.contacts.actions import do_resolve_contact

        identity, _created = do_resolve_contact(
            inbox.workspace_id,
            channel="comments",
            address=comment.author_address,
            name=comment.author_name or "",
            email=comment.author_email or "",
        )
        comment.contact_id = identity.contact_id
        Comment.objects.filter(pk=comment.pk).update(contact_id=identity.contact_id)
    product = comment.product
    payload = {
        "comment_id": str(comment.pk),
        "kind": comment.kind,
        "root_id": str(root.pk),
        "root_kind": root.kind,
        "sender_address": comment.author_address,
        "name": comment.author_name or "",
        "email": comment.author_email or "",
        "text": comment.text,
        "product_id": product.external_id,
        "product_url": product.url,
        "product_title": product.title,
        "verified": comment.is_verified,
        "verified_buyer": comment.is_verified_buyer,
        "created_at": comment.created_at.isoformat(),
    }
    accept_event(inbox, EVENT_PREFIX + str(comment.pk), json.dumps(payload, ensure_ascii=False), {})
    return True


# --- votes ----------------------------------------------------------------------------------------
def check_vote(inbox, claims, comment_id: str) -> tuple[int, bool]:
    """Mark a published comment helpful, once per visitor (or verified user).  Returns
    ``(helpful_count, created)``."""
    workspace_id = inbox.workspace_id
    voter = keyed_hash(workspace_id, "author", claims.sender_address)
    missing = CommentRefused(_("This comment is no longer available."), status=404, code="not_found")
    with tenant_scope(workspace_id), transaction.atomic():
        try:
            comment = Comment.objects.get(
                workspace_id=workspace_id, product__inbox=inbox, pk=comment_id, status=CommentStatus.PUBLISHED
            )
        except Exception as exc:  # DoesNotExist or a malformed id
            raise missing from exc
        if comment.author_key == voter:
            raise CommentRefused(_("You cannot mark your own comment as helpful."), code="own_comment")
        return do_vote(comment, voter)


@in_workspace("comment")
def do_vote(comment: Comment, voter_key: str) -> tuple[int, bool]:
    try:
        with transaction.atomic():
            Vote.objects.create(workspace_id=comment.workspace_id, comment=comment, voter_key=voter_key)
    except IntegrityError:
        created = False
    else:
        created = True
        Comment.objects.filter(pk=comment.pk).update(helpful_count=F("helpful_count") + 1)
    count = Comment.objects.values_list("helpful_count", flat=True).get(pk=comment.pk)
    return count, created


# --- moderation -----------------------------------------------------------------------------------
MODERATION_TARGETS = (
    CommentStatus.PUBLISHED,
    CommentStatus.HIDDEN,
    CommentStatus.SPAM,
    CommentStatus.PENDING,
)


def access_comment(member, pk) -> Comment:
    from hotro.tenancy.access import access_object

    return access_object(member, Comment.objects.select_related("product", "product__inbox", "parent"), pk)


def check_moderate(member, comment: Comment, status: str, *, ip=None) -> Comment:
    require_admin(member)
    if comment.workspace_id != member.workspace_id:
        raise CommentRefused("Comment of another workspace.", status=404)
    if status not in MODERATION_TARGETS:
        raise CommentRefused(_("Choose publish, hide or spam."))
    return do_moderate(member, comment, status, ip=ip)


@in_workspace("comment", atomic=True)
def do_moderate(member, comment: Comment, status: str, *, ip=None) -> Comment:
    """Set a comment's status and append an audit event (same transaction).  Publishing a reply
    publishes nothing else; a comment taken out of spam reaches the agent inbox if it belongs there."""
    previous = comment.status
    if previous == status:
        return comment
    now = timezone.now()
    comment.status, comment.moderated_at = status, now
    fields = ["status", "moderated_at"]
    if status == CommentStatus.PUBLISHED and comment.published_at is None:
        comment.published_at = now
        fields.append("published_at")
    comment.save(update_fields=fields)
    audit.record(
        comment.workspace_id,
        COMMENT_MODERATED,
        actor=member.user if member else None,
        ip=ip,
        object_type="comment",
        object_id=comment.pk,
        data={"from": previous, "to": status, "product_id": str(comment.product_id)},
    )
    if previous == CommentStatus.SPAM and status != CommentStatus.HIDDEN:
        forward_to_inbox(comment.product.inbox, comment)
    return comment


# --- business replies -----------------------------------------------------------------------------
class ReplyRefused(Exception):
    """A public reply cannot be published (the message says why and what to do)."""


def business_name(inbox) -> str:
    from hotro.tenancy.models import Workspace

    name = (inbox.settings or {}).get("business_name") or ""
    if not name:
        name = Workspace.objects.values_list("name", flat=True).get(pk=inbox.workspace_id)
    return name


@in_workspace("root", atomic=True)
def do_publish_business_reply(root: Comment, message) -> Comment:
    """Publish an agent's reply under the business's name below ``root``.  Idempotent on the
    message (a retried delivery publishes once).  A pending question is published with it (the
    agent answered it in public); a hidden or spam one refuses."""
    existing = Comment.objects.filter(message=message).first()
    if existing is not None:
        return existing
    if root.status in (CommentStatus.HIDDEN, CommentStatus.SPAM):
        raise ReplyRefused(
            _(
                "The question is hidden or marked as spam; "
                "publish it on the comments page before replying in public."
            )
        )
    now = timezone.now()
    if root.status == CommentStatus.PENDING:
        Comment.objects.filter(pk=root.pk).update(
            status=CommentStatus.PUBLISHED, published_at=now, moderated_at=now
        )
    inbox = root.product.inbox
    return Comment.objects.create(
        workspace_id=root.workspace_id,
        product=root.product,
        parent=root,
        kind=Kind.COMMENT,
        author_name=business_name(inbox),
        author_key="",
        text=message.text or "",
        status=CommentStatus.PUBLISHED,
        is_business_reply=True,
        author_member_id=message.author_id,
        message=message,
        published_at=now,
    )
