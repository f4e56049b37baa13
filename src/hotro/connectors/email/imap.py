"""Fetching mail over IMAP, exactly once.

Each message becomes a ``RawEvent`` with event id ``<folder>:<uidvalidity>:<uid>`` (so a re-fetch
is a no-op), and processing dedupes on Message-ID per inbox (so a UIDVALIDITY change, the same mail
in two folders or a forwarded copy never makes a duplicate).  ``ImapFolderState.last_uid`` moves
only after the raw events up to it are committed.  Bodies are fetched with ``BODY.PEEK[]``: mail is
marked read only when the inbox is set to.

One process at a time talks IMAP for an inbox: an IDLE runner (``idle.py``) or a poll holds the
``ImapLease``; the other skips.
"""

from __future__ import annotations

import logging
import socket
import ssl
from contextlib import contextmanager
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from imapclient import SEEN, IMAPClient
from imapclient.exceptions import CapabilityError, IMAPClientError, LoginError

from hotro.privacy.rls import tenant_scope

from ..base import ConnectorError
from ..health import mark_inbox_error, mark_inbox_ok
from ..ingress import accept_events
from ..models import Inbox
from ..scheduling import worker_id
from .config import EmailSettings, load_settings
from .headers import normalize_message_id
from .inbound import encode_raw
from .models import ImapFolderState, ImapLease, KnownMessageId
from .oauth import access_token, xoauth2_responder
from .outbound import ssl_context
from .store import mid_hash

log = logging.getLogger(__name__)
BATCH = 100
TIMEOUT = 60


def describe_error(exc: Exception, cfg: EmailSettings) -> ConnectorError:
    """An IMAP failure as a sentence for admins; sign-in refusals are permanent (reconnect needed)."""
    where = f"{cfg.imap.host}:{cfg.imap.port}"
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, LoginError):
        return ConnectorError(
            _(
                "The mail server %(where)s refused the sign-in for %(user)s; "
                "check the password or reconnect the mailbox."
            )
            % {"where": where, "user": cfg.imap.username},
            permanent=True,
            code="reconnect",
        )
    if isinstance(exc, CapabilityError) and "STARTTLS" in str(exc).upper():
        # Never fall back to signing in without encryption: the admin chooses.
        return ConnectorError(
            _(
                "The mail server %(where)s does not offer STARTTLS; choose TLS (usually port 993) "
                "or ask the mail provider."
            )
            % {"where": where},
            permanent=True,
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConnectorError(
            _(
                "The certificate of the mail server %(where)s is not trusted (%(e)s); check the host "
                "name or ask the mail provider; will retry."
            )
            % {"where": where, "e": exc.verify_message or exc.reason or type(exc).__name__}
        )
    if isinstance(exc, ssl.SSLError):
        return ConnectorError(
            _("A secure connection to %(where)s failed (%(e)s); check the security setting (TLS, STARTTLS).")
            % {"where": where, "e": getattr(exc, "reason", None) or type(exc).__name__}
        )
    if isinstance(exc, socket.timeout | TimeoutError):
        return ConnectorError(
            _("The mail server %(where)s did not answer in time; will retry.") % {"where": where}
        )
    if isinstance(exc, OSError):
        return ConnectorError(
            _("Could not connect to the mail server %(where)s (%(e)s); will retry.")
            % {"where": where, "e": type(exc).__name__}
        )
    return ConnectorError(
        _("The mail server %(where)s answered something unexpected (%(e)s); will retry.")
        % {"where": where, "e": str(exc)[:200]}
    )


def open_client(cfg: EmailSettings, timeout: float) -> IMAPClient:
    """A connection to the inbox's IMAP server (TLS or plain; STARTTLS comes with ``sign_in``)."""
    server = cfg.imap
    return IMAPClient(
        server.host,
        port=server.port,
        ssl=server.security == "tls",
        ssl_context=ssl_context() if server.security == "tls" else None,
        timeout=timeout,
    )


def sign_in(client: IMAPClient, inbox: Inbox, cfg: EmailSettings, token: str | None) -> None:
    """STARTTLS when the inbox says so, then XOAUTH2 with ``token`` or the stored password."""
    server = cfg.imap
    if server.security == "starttls":
        client.starttls(ssl_context())
    if token is not None:
        client.sasl_login("XOAUTH2", xoauth2_responder(server.username, token))
    else:
        client.login(server.username, (inbox.credentials or {}).get("imap_password", ""))


@contextmanager
def connect(inbox: Inbox, cfg: EmailSettings):
    """A signed-in IMAP connection (TLS / STARTTLS / none; password or XOAUTH2).  With OAuth2 the
    access token is fetched (refreshed) first: a revoked grant needs no connection to the server."""
    token = access_token(inbox) if cfg.auth == "oauth2" else None
    try:
        client = open_client(cfg, TIMEOUT)
    except Exception as exc:
        raise describe_error(exc, cfg) from exc
    try:
        sign_in(client, inbox, cfg, token)
        yield client
    except ConnectorError:
        raise
    except (IMAPClientError, OSError) as exc:
        raise describe_error(exc, cfg) from exc
    finally:
        try:
            client.logout()
        except Exception:  # noqa: BLE001 - the connection may already be gone
            log.debug("IMAP logout failed for inbox %s", inbox.pk)


# -- leases: one IMAP talker per inbox ----------------------------------------------------------


def acquire_lease(inbox: Inbox, mode: str, seconds: int, holder: str | None = None) -> bool:
    holder = (holder or worker_id())[:64]
    now = timezone.now()
    with tenant_scope(inbox.workspace_id):
        ImapLease.objects.get_or_create(workspace_id=inbox.workspace_id, inbox=inbox)
        free = Q(until__isnull=True) | Q(until__lt=now) | Q(holder=holder)
        return bool(
            ImapLease.objects.filter(inbox=inbox)
            .filter(free)
            .update(holder=holder, mode=mode, until=now + timedelta(seconds=seconds))
        )


def release_lease(inbox: Inbox, holder: str | None = None) -> None:
    holder = (holder or worker_id())[:64]
    with tenant_scope(inbox.workspace_id):
        ImapLease.objects.filter(inbox=inbox, holder=holder).update(until=None, holder="", mode="")


# -- fetching ----------------------------------------------------------------------------------


def _known_hashes(inbox: Inbox, hashes: list[str]) -> set[str]:
    with tenant_scope(inbox.workspace_id):
        return set(
            KnownMessageId.objects.filter(workspace_id=inbox.workspace_id, mid_hash__in=hashes).values_list(
                "mid_hash", flat=True
            )
        )


def _skip_known(inbox: Inbox, client: IMAPClient, uids: list[int]) -> set[int]:
    """After a UIDVALIDITY change: the UIDs whose Message-ID is already stored (not fetched again)."""
    skip: set[int] = set()
    for start in range(0, len(uids), 500):
        batch = uids[start : start + 500]
        headers = client.fetch(batch, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        by_hash = {}
        for uid, data in headers.items():
            raw = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), b"") or b""
            value = raw.decode("utf-8", "replace").partition(":")[2]
            mid = normalize_message_id(" ".join(value.split()))
            if mid:
                by_hash[mid_hash(inbox.workspace_id, mid)] = uid
        known = _known_hashes(inbox, list(by_hash))
        skip |= {uid for h, uid in by_hash.items() if h in known}
    return skip


def sync_folder(inbox: Inbox, cfg: EmailSettings, client: IMAPClient, folder: str) -> int:
    """Store every new message of ``folder`` as a raw event; returns how many were new."""
    try:
        info = client.select_folder(folder, readonly=not cfg.mark_read)
    except IMAPClientError as exc:
        raise ConnectorError(
            _("The folder %(folder)s could not be opened on the mail server (%(e)s); check the folder list.")
            % {"folder": folder, "e": str(exc)[:200]},
            permanent=True,
        ) from exc
    uidvalidity = int(info[b"UIDVALIDITY"])
    with tenant_scope(inbox.workspace_id):
        state, _created = ImapFolderState.objects.get_or_create(
            workspace_id=inbox.workspace_id, inbox=inbox, folder=folder
        )
    resync = False
    if state.uidvalidity != uidvalidity:
        resync = bool(state.uidvalidity)
        if resync:
            log.warning("inbox %s: UIDVALIDITY of a folder changed; resyncing (duplicates skipped)", inbox.pk)
        state.uidvalidity, state.last_uid, state.resyncs = uidvalidity, 0, state.resyncs + int(resync)
        with tenant_scope(inbox.workspace_id):
            state.save(update_fields=["uidvalidity", "last_uid", "resyncs", "updated_at"])
    # "UID n:*" always returns the highest UID even when it is below n (RFC 3501): filter.
    uids = sorted(u for u in client.search(["UID", f"{state.last_uid + 1}:*"]) if u > state.last_uid)
    skip = _skip_known(inbox, client, uids) if resync and uids else set()
    stored = 0
    for start in range(0, len(uids), BATCH):
        batch = uids[start : start + BATCH]
        wanted = [u for u in batch if u not in skip]
        data = client.fetch(wanted, ["BODY.PEEK[]"]) if wanted else {}
        events = []
        for uid in wanted:
            raw = (data.get(uid) or {}).get(b"BODY[]")
            if raw is None:  # expunged between SEARCH and FETCH
                continue
            events.append(
                (
                    f"{folder}:{uidvalidity}:{uid}",
                    encode_raw(raw),
                    {"source": "imap", "folder": folder, "uidvalidity": uidvalidity, "uid": uid},
                )
            )
        state.last_uid = batch[-1]

        def bookmark(last_uid=state.last_uid):
            ImapFolderState.objects.filter(pk=state.pk).update(last_uid=last_uid, updated_at=timezone.now())

        # The batch's raw events and the folder's new last UID commit together (one transaction),
        # and one task processes the batch.
        stored += len(accept_events(inbox, events, then=bookmark))
        if cfg.mark_read and wanted:
            client.add_flags(wanted, [SEEN])
    return stored


def sync_all(inbox: Inbox, cfg: EmailSettings, client: IMAPClient) -> int:
    try:
        return sum(sync_folder(inbox, cfg, client, folder) for folder in cfg.folders)
    except ConnectorError:
        raise
    except (IMAPClientError, OSError) as exc:
        raise describe_error(exc, cfg) from exc


def poll_inbox(inbox: Inbox, *, lease_seconds: int = 600) -> int:
    """One poll of every folder (the fallback when no IDLE runner holds the inbox).  Returns the
    number of new messages; records the inbox's health.  Skips when another process holds it."""
    cfg = load_settings(inbox)
    if not cfg.imap.configured or not inbox.is_active:
        return 0
    if not acquire_lease(inbox, "poll", lease_seconds):
        return 0
    try:
        with connect(inbox, cfg) as client:
            stored = sync_all(inbox, cfg, client)
    except ConnectorError as exc:
        mark_inbox_error(inbox, str(exc), permanent=exc.permanent, code=exc.code)
        raise
    finally:
        release_lease(inbox)
    mark_inbox_ok(inbox)
    return stored
