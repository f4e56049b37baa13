"""Append-only audit log, hash-chained per workspace (privacy promise P5: access is accountable).

Writing: ``record(workspace_id, action, ...)`` appends one ``AuditEvent``.  It runs inside the caller's
transaction (so an audited change and its audit row commit or roll back together) and locks the
workspace row (``SELECT ... FOR NO KEY UPDATE``; SQLite's IMMEDIATE transactions already serialize
writers) so two writers never take the same ``seq`` or fork the chain.  ``FOR NO KEY UPDATE`` rather
than ``FOR UPDATE`` because the latter would also block every INSERT referencing the workspace (their
foreign-key checks take ``FOR KEY SHARE``).

Chain: ``hash = SHA256(prev_hash || canonical JSON)`` of (workspace, seq, at, actor, actor_label, ip,
action, object_type, object_id, data); the first row's ``prev_hash`` is 64 zeros.  The actor's id is
also written into ``actor_label`` so the chain still verifies after the user account is deleted (the
foreign key is then set to NULL, the only UPDATE the database allows).

No personal data in a row: the table cannot be erased, so ``actor_label`` is the actor's role in the
workspace at the time and their user id — "admin (#42)" — never a username, name or e-mail address
(pages resolve the id to a current name while the account exists).  A label given by the caller for
a system actor is kept only if it is not an e-mail address.  ``ip`` is the client address of the
request that caused the event (``client_ip``); actions called from views take an ``ip`` argument.

Append-only in the database: on PostgreSQL a trigger (installed after every ``migrate``) rejects
UPDATE and DELETE on ``hotro_audit_event``.  Code that legitimately deletes a whole workspace (retention
purge) runs inside ``purge_scope()``, which sets ``hotro.allow_audit_purge = 'on'`` for its
transaction only.  TRUNCATE and disabling the trigger need the table owner; the application role
(see ``privacy.rls``) is not the owner.

Verifying: ``verify_chain()`` recomputes every chain and reports the first broken link per workspace
(an edited row, a deleted row — a gap in ``seq`` — or rows put out of order).  Deleting the newest rows
of a chain leaves a shorter valid chain; the admin page shows the latest ``seq`` so it can be compared
with an earlier export.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import AuditEvent
from .rls import in_workspace

GENESIS_HASH = "0" * 64

# --- the audited actions (others call ``record`` with these) --------------------------------------
CONTACT_VIEWED = "contact.viewed"
CONTACT_REVEALED = "contact.revealed"
EXPORT_CREATED = "export.created"
ATTACHMENT_DOWNLOADED = "attachment.downloaded"
MEMBER_ROLE_CHANGED = "member.role_changed"
MEMBER_INVITED = "member.invited"
MEMBER_REMOVED = "member.removed"
WORKSPACE_SETTINGS_CHANGED = "workspace.settings_changed"
INBOX_CREATED = "inbox.created"
INBOX_UPDATED = "inbox.updated"
INBOX_DELETED = "inbox.deleted"
KEYS_ROTATED = "keys.rotated"
KEYS_REENCRYPTED = "keys.reencrypted"
KEYS_SHREDDED = "keys.shredded"

ACTIONS = (
    CONTACT_VIEWED,
    CONTACT_REVEALED,
    EXPORT_CREATED,
    ATTACHMENT_DOWNLOADED,
    MEMBER_ROLE_CHANGED,
    MEMBER_INVITED,
    MEMBER_REMOVED,
    WORKSPACE_SETTINGS_CHANGED,
    INBOX_CREATED,
    INBOX_UPDATED,
    INBOX_DELETED,
    KEYS_ROTATED,
    KEYS_REENCRYPTED,
    KEYS_SHREDDED,
)

SYSTEM_LABEL = "system"
_ACTOR_REF = re.compile(r"\(#([^()\s]+)\)$")


# --- writing --------------------------------------------------------------------------------------
def _iso(at) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _normalize_ip(ip) -> str | None:
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(str(ip).strip())
    except ValueError:
        return None
    if addr.version == 6 and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return str(addr)


def _normalize_data(data) -> dict:
    """A JSON round-trip, so the stored value hashes the same once read back from the database."""
    return json.loads(json.dumps(data or {}, default=str, sort_keys=True))


def actor_ref(event: AuditEvent) -> str | None:
    """The id of the user who acted, as recorded (survives deletion of the account)."""
    if event.actor_id is not None:
        return str(event.actor_id)
    match = _ACTOR_REF.search(event.actor_label or "")
    return match.group(1) if match else None


def compute_hash(event: AuditEvent) -> str:
    canonical = json.dumps(
        {
            "workspace": str(event.workspace_id),
            "seq": event.seq,
            "at": _iso(event.at),
            "actor": actor_ref(event),
            "actor_label": event.actor_label,
            "ip": event.ip,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "data": event.data,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256((event.prev_hash + canonical).encode()).hexdigest()


def _actor_label(workspace_id, actor, given: str) -> str:
    """ "<role> (#<user id>)" for a person, else the caller's label (never an e-mail) or "system"."""
    if actor is None:
        given = (given or "").strip()
        return given if given and "@" not in given else SYSTEM_LABEL
    from hotro.tenancy.models import Membership

    role = (
        Membership.objects.filter(workspace_id=workspace_id, user_id=actor.pk)
        .values_list("role", flat=True)
        .first()
    )
    return f"{role or 'user'} (#{actor.pk})"


def _lock_workspace(workspace_id) -> None:
    from hotro.tenancy.models import Workspace

    found = list(Workspace.objects.select_for_update(no_key=True).filter(pk=workspace_id).values_list("pk"))
    if not found:
        raise ValueError(f"No workspace {workspace_id}: the audit event cannot be recorded.")


@in_workspace("workspace_id")
def record(
    workspace_id,
    action: str,
    *,
    actor=None,
    actor_label: str = "",
    ip=None,
    object_type: str = "",
    object_id="",
    data: dict | None = None,
) -> AuditEvent:
    """Append one event to the workspace's chain and return it.

    Runs in the caller's transaction (a savepoint if there is one).  ``actor`` is a User or None (the
    system; ``actor_label`` then names the system part, e.g. "retention"); ``ip`` the client address
    of the request, if any; ``data`` must hold no personal data (ids, field names, counts — never
    values).
    """
    with transaction.atomic():
        _lock_workspace(workspace_id)
        last = (
            AuditEvent.objects.filter(workspace_id=workspace_id)
            .order_by("-seq")
            .values_list("seq", "hash")
            .first()
        )
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        label = _actor_label(workspace_id, actor, actor_label)
        event = AuditEvent(
            workspace_id=workspace_id,
            seq=seq,
            at=timezone.now(),
            actor=actor,
            actor_label=label[:200],
            ip=_normalize_ip(ip),
            action=action,
            object_type=object_type,
            object_id=str(object_id or ""),
            data=_normalize_data(data),
            prev_hash=prev_hash,
        )
        event.hash = compute_hash(event)
        event.save(force_insert=True)
    return event


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or the X-Forwarded-For entry added by our own proxies.

    ``settings.HOTRO_TRUSTED_PROXY`` is the number of reverse proxies in front of hotro (0: none, trust
    no header).  With N proxies the client is the N-th address from the right of X-Forwarded-For; any
    address further left was written by the client and proves nothing.
    """
    return _normalize_ip(
        forwarded_client(request.META.get("HTTP_X_FORWARDED_FOR", ""), request.META.get("REMOTE_ADDR"))
    )


def forwarded_client(forwarded: str, peer):
    """The client among ``forwarded`` (an X-Forwarded-For value) and ``peer`` (the socket's address),
    as ``client_ip`` explains; as given, not normalised (the widget's rate limiter uses it too)."""
    proxies = int(getattr(settings, "HOTRO_TRUSTED_PROXY", 0) or 0)
    if proxies > 0 and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return peer


def record_request(request, member, action: str, **kwargs) -> AuditEvent:
    """``record`` for a request made by ``member``: actor and ip come from the request."""
    user = getattr(request, "user", None)
    actor = user if user is not None and user.is_authenticated else member.user
    return record(member.workspace_id, action, actor=actor, ip=client_ip(request), **kwargs)


@contextmanager
def purge_scope():
    """Allow DELETE on audit rows for this transaction only (whole-workspace purge on PostgreSQL)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('hotro.allow_audit_purge', 'on', true)")
        yield
        # an enclosing transaction may go on: switch it off again (a rollback does it on error)
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('hotro.allow_audit_purge', 'off', true)")


# --- verifying ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChainProblem:
    workspace_id: str
    seq: int
    kind: str  # "altered" | "missing" | "out_of_order"
    detail: str

    def __str__(self) -> str:
        return (
            f"workspace {self.workspace_id}: first broken link at seq {self.seq} ({self.kind}): {self.detail}"
        )


def _check_workspace(workspace_id) -> ChainProblem | None:
    expected_seq, prev_hash = 1, GENESIS_HASH
    rows = AuditEvent.objects.filter(workspace_id=workspace_id).order_by("seq").iterator(chunk_size=2000)
    for event in rows:
        ws = str(workspace_id)
        if event.seq > expected_seq:
            return ChainProblem(
                ws, expected_seq, "missing", f"rows {expected_seq}..{event.seq - 1} were deleted"
            )
        if event.prev_hash != prev_hash:
            return ChainProblem(ws, event.seq, "out_of_order", "prev_hash does not match the row before it")
        if compute_hash(event) != event.hash:
            return ChainProblem(ws, event.seq, "altered", "the row's contents do not match its hash")
        expected_seq, prev_hash = event.seq + 1, event.hash
    return None


def find_chain_problems(workspace_id=None) -> list[ChainProblem]:
    """The first broken link of each workspace's chain (of one workspace if given); [] if intact."""
    from .rls import system_scope

    with system_scope():
        if workspace_id is not None:
            workspace_ids = [workspace_id]
        else:
            workspace_ids = list(
                AuditEvent.objects.order_by("workspace_id").values_list("workspace_id", flat=True).distinct()
            )
        problems = [_check_workspace(ws) for ws in workspace_ids]
    return [p for p in problems if p is not None]


def verify_chain(workspace_id=None) -> list[str]:
    """Problems found, one sentence each; an empty list means every chain is intact."""
    return [str(p) for p in find_chain_problems(workspace_id)]


# --- database guard (PostgreSQL) ------------------------------------------------------------------
APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION hotro_audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('hotro.allow_audit_purge', true) = 'on' THEN
    RETURN OLD;
  END IF;
  -- deleting a user account sets actor_id to NULL (the id stays in actor_label); nothing else changes
  IF TG_OP = 'UPDATE' AND OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
     AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'hotro_audit_event is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
DROP TRIGGER IF EXISTS hotro_audit_event_append_only ON hotro_audit_event;
CREATE TRIGGER hotro_audit_event_append_only BEFORE UPDATE OR DELETE ON hotro_audit_event
  FOR EACH ROW EXECUTE FUNCTION hotro_audit_event_append_only();
"""


def install_append_only_trigger(using=None) -> bool:
    """Install (idempotently) the PostgreSQL trigger; False on other databases or before the table exists."""
    from django.db import connections

    conn = connections[using or "default"]
    if conn.vendor != "postgresql" or AuditEvent._meta.db_table not in conn.introspection.table_names():
        return False
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        cursor.execute(APPEND_ONLY_SQL)
    return True
