"""Durable inbound: store every provider event before acknowledging it, then process it in a task.

``accept_event`` is one INSERT and a commit (idempotent on inbox + provider event id);
``accept_events`` stores a whole batch (e.g. one IMAP FETCH) in one transaction and enqueues one
``process_raw_events`` task for it.  ``process_raw_event`` claims the row with a conditional UPDATE
(so two workers never process the same event at once), parses it with the inbox's connector and
hands each message to ``conversations.actions.do_receive_message`` (itself idempotent on the
message's external id), so running it twice is harmless.  Unparseable events end ``malformed``
(kept, with the reason); other failures are retried with exponential backoff and end ``dead``
after ``HOTRO_RAW_EVENT_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import hashlib
import logging

from django.db import DataError, IntegrityError, transaction
from django.tasks import task
from django.utils import timezone

from hotro.privacy.rls import system_scope, tenant_scope

from .base import MalformedEvent, storable_id
from .leases import Claim, LeasedWork
from .models import Inbox, RawEvent, RawEventStatus
from .registry import get_connector
from .scheduling import enqueue_on_commit

log = logging.getLogger(__name__)

MAX_ERROR = 1000


def normalize_event_id(event_id: str) -> str:
    """Provider ids are opaque strings; ids the column cannot hold (too long, control characters)
    are replaced by their hash (``base.storable_id``)."""
    return storable_id(event_id)


def malformed_event_id(payload: str) -> str:
    """The id a refused payload is kept under (never its provider id: see the webhook view)."""
    return "malformed:" + hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def accept_event(
    inbox: Inbox, event_id: str, payload: str, headers: dict, *, malformed: str = ""
) -> tuple[RawEvent, bool]:
    """Store one raw provider event (payload and headers encrypted) and enqueue its processing
    after commit.  Returns ``(raw_event, created)``; a duplicate delivery by the provider returns the
    existing row and enqueues nothing.  With ``malformed`` (the reason, in words) the event is kept
    with status ``malformed`` and not processed."""
    event_id = normalize_event_id(event_id)
    try:
        with tenant_scope(inbox.workspace_id), transaction.atomic():
            raw = RawEvent.objects.create(
                workspace_id=inbox.workspace_id,
                inbox=inbox,
                event_id=event_id,
                payload=payload,
                headers=headers or {},
                status=RawEventStatus.MALFORMED if malformed else RawEventStatus.RECEIVED,
                error=malformed[:MAX_ERROR],
            )
            if not malformed:
                enqueue_on_commit(process_raw_event, str(raw.pk))
    except IntegrityError:
        with tenant_scope(inbox.workspace_id):
            return RawEvent.objects.get(inbox=inbox, event_id=event_id), False
    if malformed:
        log.warning("malformed raw event %s kept for inbox %s", raw.pk, inbox.pk)
    return raw, True


def accept_events(inbox: Inbox, events: list[tuple[str, str, dict]], *, then=None) -> list[str]:
    """Store a batch of raw events ``(event_id, payload, headers)`` in one transaction and enqueue
    one ``process_raw_events`` task for the new ones after commit.  Idempotent per event like
    ``accept_event`` (events already stored are skipped).  ``then`` (optional) runs inside the same
    transaction, so a caller's bookmark (an IMAP folder's last UID) commits with the events.
    Returns the ids of the new raw events."""
    wanted: dict[str, tuple[str, dict]] = {}
    for event_id, payload, headers in events:
        wanted.setdefault(normalize_event_id(event_id), (payload, headers or {}))
    try:
        with tenant_scope(inbox.workspace_id), transaction.atomic():
            known = set(
                RawEvent.objects.filter(inbox=inbox, event_id__in=list(wanted)).values_list(
                    "event_id", flat=True
                )
            )
            rows = [
                RawEvent(
                    workspace_id=inbox.workspace_id,
                    inbox=inbox,
                    event_id=event_id,
                    payload=payload,
                    headers=headers,
                    status=RawEventStatus.RECEIVED,
                )
                for event_id, (payload, headers) in wanted.items()
                if event_id not in known
            ]
            RawEvent.objects.bulk_create(rows)
            ids = [str(row.pk) for row in rows]
            if ids:
                enqueue_on_commit(process_raw_events, ids)
            if then is not None:
                then()
    except IntegrityError:
        # Someone stored one of these meanwhile (another receiver): fall back to one at a time.
        ids = []
        for event_id, (payload, headers) in wanted.items():
            raw, created = accept_event(inbox, event_id, payload, headers)
            if created:
                ids.append(str(raw.pk))
        if then is not None:
            with tenant_scope(inbox.workspace_id):
                then()
    return ids


@task
def process_raw_event(raw_event_id: str) -> str:
    return run_raw_event(raw_event_id)


@task
def process_raw_events(raw_event_ids: list[str]) -> dict[str, str]:
    """Process a batch of raw events (one task for a whole IMAP fetch); each event is claimed and
    processed on its own, exactly as ``process_raw_event`` would."""
    return run_raw_events(raw_event_ids)


RAW_EVENTS = LeasedWork(
    model=RawEvent,
    due_statuses=(RawEventStatus.RECEIVED, RawEventStatus.FAILED),
    working=RawEventStatus.PROCESSING,
    retrying=RawEventStatus.FAILED,
    given_up=RawEventStatus.DEAD,
    error_field="error",
    max_attempts_setting="HOTRO_RAW_EVENT_MAX_ATTEMPTS",
    task=lambda: process_raw_event,
)


# The event's own content cannot be stored (a value the database refuses): retrying cannot help.
PERMANENT_ERRORS = (DataError,)


def failure_text(exc: Exception, *, final: bool = False) -> str:
    """What an admin sees for a failed attempt: a fixed sentence and the exception's class, never
    its message (which may quote the payload: names, addresses, text).  ``final``: no retry follows."""
    if isinstance(exc, PERMANENT_ERRORS):
        return (
            f"The event could not be stored ({type(exc).__name__}: a value the database refuses); "
            "it is not retried automatically. An admin can retry it once the cause is fixed."
        )
    if final:
        return (
            f"Processing failed ({type(exc).__name__}) on every attempt; it is not retried "
            "automatically any more. An admin can retry it."
        )
    return f"Processing failed ({type(exc).__name__}); it is retried automatically."


def malformed_text(exc: ValueError) -> str:
    """A connector's ``MalformedEvent`` says in words what is wrong (and by contract quotes no
    content); any other ``ValueError`` is named by its class only."""
    if isinstance(exc, MalformedEvent):
        return str(exc)
    return f"The event could not be read ({type(exc).__name__})."


def run_raw_event(raw_event_id: str) -> str:
    """Process one raw event if this worker wins the claim; returns the resulting status.

    The claim runs in system scope (the workspace is not known yet); loading, parsing, storing the
    messages and the bookkeeping run in the event's workspace scope."""
    claim = RAW_EVENTS.claim(raw_event_id)
    if claim is None:
        return RAW_EVENTS.status_of(raw_event_id)
    return _process(claim)


def run_raw_events(raw_event_ids: list[str]) -> dict[str, str]:
    """Claim a batch at once (one UPDATE), then process each claimed event in its own transaction;
    returns each event's resulting status."""
    claims = RAW_EVENTS.claim_many(raw_event_ids)
    results = {pk: _process(claim) for pk, claim in claims.items()}
    for pk in raw_event_ids:
        if str(pk) not in results:
            results[str(pk)] = RAW_EVENTS.status_of(pk)
    return results


def _process(claim: Claim) -> str:
    try:
        with claim.scope():
            raw = RawEvent.objects.select_related("inbox").get(pk=claim.pk)
            connector = get_connector(raw.inbox.connector)
            try:
                messages = connector.parse(raw)
            except ValueError as exc:  # MalformedEvent, JSON and validation errors: retrying cannot help
                return _finish(claim, RawEventStatus.MALFORMED, error=malformed_text(exc))
            # The claim's scope is the transaction on PostgreSQL; an error rolls all of it back.
            with transaction.atomic(savepoint=False):
                for message in messages:
                    connector.receive(raw.inbox, message)
                return _finish(claim, RawEventStatus.PROCESSED)
    except Exception as exc:
        return _fail(claim, exc)


def _finish(claim: Claim, status: str, error: str = "") -> str:
    RAW_EVENTS.held(claim).update(
        status=status,
        error=error[:MAX_ERROR],
        processed_at=timezone.now(),
        claimed_until=None,
        next_attempt_at=None,
    )
    if status == RawEventStatus.MALFORMED:
        log.warning("raw event %s is malformed; kept for an admin", claim.pk)
    return status


def _fail(claim: Claim, exc: Exception) -> str:
    """A failure: retry later with backoff, or give up (``dead``) after the last attempt or at once
    when the content itself cannot be stored; the stored sentence says which."""
    log.warning("raw event %s failed (attempt %s): %s", claim.pk, claim.attempts, type(exc).__name__)
    give_up = isinstance(exc, PERMANENT_ERRORS)
    final = give_up or claim.attempts >= RAW_EVENTS.max_attempts
    return RAW_EVENTS.fail(claim, failure_text(exc, final=final)[:MAX_ERROR], give_up=give_up).status


def retry_raw_event(raw_event_id: str) -> bool:
    """Admin action: put a failed, dead or malformed event back to ``received`` (attempts reset) and
    enqueue it.  The caller has checked that the admin may see this event's workspace.  Returns
    whether the event was reset (an event being processed or already processed is left alone)."""
    with system_scope():
        changed = (
            RawEvent.objects.filter(pk=raw_event_id)
            .filter(status__in=[RawEventStatus.FAILED, RawEventStatus.DEAD, RawEventStatus.MALFORMED])
            .update(
                status=RawEventStatus.RECEIVED, attempts=0, error="", next_attempt_at=None, claimed_until=None
            )
        )
        if changed:
            enqueue_on_commit(process_raw_event, str(raw_event_id))
    return bool(changed)
