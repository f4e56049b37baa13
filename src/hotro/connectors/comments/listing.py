"""Reading a product's public thread: published comments (and the viewer's own pending ones),
sorted newest or most helpful, paginated by thread.  A fixed number of queries per page."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from . import policy
from .models import Comment, CommentStatus, Product, Vote

SORTS = {
    "newest": ("-created_at", "-id"),
    "helpful": ("-helpful_count", "-created_at", "-id"),
}


def comment_json(c: Comment, *, voted: set, viewer_key: str | None) -> dict:
    """What the page may show of a comment: never the e-mail, address or any key."""
    return {
        "id": str(c.pk),
        "kind": c.kind,
        "author": c.author_name or "",
        "text": c.text or "",
        "created_at": c.created_at.isoformat(),
        "helpful": c.helpful_count,
        "voted": c.pk in voted,
        "mine": bool(viewer_key) and c.author_key == viewer_key,
        "pending": c.status == CommentStatus.PENDING,
        "verified": c.is_verified,
        "verified_buyer": c.is_verified_buyer,
        "business": c.is_business_reply,
    }


def visible(qs, viewer_key: str | None):
    """Published comments, plus the viewer's own comments still waiting for review."""
    condition = Q(status=CommentStatus.PUBLISHED)
    if viewer_key:
        condition |= Q(status=CommentStatus.PENDING, author_key=viewer_key)
    return qs.filter(condition)


def product_thread(
    inbox,
    product_id: str,
    *,
    sort: str = "newest",
    page: int = 1,
    per_page: int = policy.PAGE_SIZE,
    viewer_key: str | None = None,
) -> dict:
    """The page of threads for ``product_id`` as JSON-ready data (an empty thread for an unknown
    product: products are created by their first comment)."""
    sort = sort if sort in SORTS else "newest"
    per_page = max(1, min(int(per_page), policy.MAX_PAGE_SIZE))
    empty = {"product_id": product_id, "sort": sort, "page": 1, "pages": 1, "total": 0, "comments": []}
    product = Product.objects.filter(inbox=inbox, external_id=product_id).first()
    if product is None:
        return empty
    roots_qs = visible(Comment.objects.filter(product=product, parent__isnull=True), viewer_key)
    total = roots_qs.count()
    pages = max(1, -(-total // per_page))
    page = max(1, min(page, pages))
    answered = Exists(
        Comment.objects.filter(parent=OuterRef("pk"), is_business_reply=True, status=CommentStatus.PUBLISHED)
    )
    roots = list(
        roots_qs.annotate(answered=answered).order_by(*SORTS[sort])[(page - 1) * per_page : page * per_page]
    )
    replies = list(
        visible(
            Comment.objects.filter(product=product, parent__in=[r.pk for r in roots]), viewer_key
        ).order_by("created_at", "id")
    )
    voted = set()
    if viewer_key:
        ids = [c.pk for c in roots] + [c.pk for c in replies]
        voted = set(
            Vote.objects.filter(comment_id__in=ids, voter_key=viewer_key).values_list("comment_id", flat=True)
        )
    by_parent: dict = {}
    for reply in replies:
        by_parent.setdefault(reply.parent_id, []).append(
            comment_json(reply, voted=voted, viewer_key=viewer_key)
        )
    items = []
    for root in roots:
        item = comment_json(root, voted=voted, viewer_key=viewer_key)
        item["answered"] = bool(root.answered)
        item["replies"] = by_parent.get(root.pk, [])
        items.append(item)
    return {
        "product_id": product_id,
        "sort": sort,
        "page": page,
        "pages": pages,
        "total": total,
        "comments": items,
    }
