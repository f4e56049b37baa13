"""PostgreSQL Row-Level Security: the database itself keeps workspaces apart (promise P4).

Every table with a ``workspace_id`` column (and ``hotro_workspace`` by its ``id``) has RLS enabled and
*forced* with one policy::

    workspace_id = NULLIF(current_setting('hotro.workspace_id', true), '')::uuid
    OR current_setting('hotro.bypass_rls', true) = 'on'

for reading (USING) and writing (WITH CHECK).  ``install_policies`` runs after every ``migrate``
(``post_migrate``), so tables added later by any app are covered too.  On SQLite all of this is a no-op.

Roles.  Superusers and roles with BYPASSRLS ignore policies, so the application connects as a plain
role: ``manage.py rls_setup --role hotro_app [--password ...]`` creates it (NOSUPERUSER NOBYPASSRLS,
not the table owner) and grants it DML on every table.  Then either log in as that role in
``DATABASE_URL`` (required behind PgBouncer in transaction pooling), or set ``HOTRO_DB_APP_ROLE`` so
each new connection runs ``SET ROLE``.  Run ``migrate`` as the owner, with ``HOTRO_DB_APP_ROLE`` unset.

Scoping.  Nothing is visible to the application role until a scope is set::

    with tenant_scope(member.workspace_id):      # one workspace, for this transaction only
        ...
    with system_scope():                          # workers, migrations, admin CLI crossing workspaces
        ...

    @scoped(lambda request, slug, **kw: workspace_id_for(slug))
    def view(request, slug): ...

Both open ``transaction.atomic()`` and use ``set_config(..., true)`` (``SET LOCAL`` semantics: gone at
commit/rollback, so safe with transaction pooling).  Nesting the scope already open costs nothing (no
savepoint, no statement: code that needs a savepoint opens ``transaction.atomic()`` itself); nesting a
*different* workspace raises ``ScopeError``.  A ``tenant_scope`` inside a ``system_scope``
narrows to that workspace until it ends.  Things that must run in ``system_scope``: creating a workspace
(its id is not yet a scope), finding a user's memberships across workspaces, deleting a user account.
"""

from __future__ import annotations

import inspect
import re
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from functools import wraps

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

POLICY_NAME = "hotro_tenant_isolation"
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# the scope currently open per database alias: ("tenant", workspace_id) or ("system", None)
_current: ContextVar[dict] = ContextVar("hotro_rls_scope", default={})  # noqa: B039


class ScopeError(RuntimeError):
    """A scope for another workspace was opened inside a workspace scope."""


def _policy_expr(column: str) -> str:
    return (
        f"({column} = NULLIF(current_setting('hotro.workspace_id', true), '')::uuid "
        "OR current_setting('hotro.bypass_rls', true) = 'on')"
    )


def current_scope(using: str = DEFAULT_DB_ALIAS):
    """("tenant", workspace_id), ("system", None), or None outside any scope."""
    return _current.get().get(using)


@contextmanager
def _scope(kind: str, workspace_id, using: str):
    conn = connections[using]
    outer = current_scope(using)
    if kind == "tenant" and outer is not None and outer[0] == "tenant" and outer[1] != workspace_id:
        raise ScopeError(
            f"A scope for workspace {workspace_id} was opened inside the scope of workspace {outer[1]}; "
            "close the outer scope first."
        )
    if outer == (kind, workspace_id):  # already in this very scope: nothing to set or restore
        yield
        return
    if conn.vendor != "postgresql":
        with _marked(kind, workspace_id, using):
            yield
        return
    with transaction.atomic(using=using):
        # The mark ends before the atomic block does: callbacks run on commit (event publishing) see
        # no scope and open their own, since the database setting is gone by then.
        with _marked(kind, workspace_id, using):
            if kind == "tenant":
                _set(conn, str(workspace_id), "off")
            else:
                _set(conn, None, "on")
            yield
            # On success restore the outer settings (an enclosing transaction may go on); on error the
            # rollback (of the savepoint or the transaction) restores them.
            _set(
                conn,
                str(outer[1]) if outer and outer[0] == "tenant" else "",
                "on" if outer and outer[0] == "system" else "off",
            )


def _set(conn, tenant: str | None, bypass: str) -> None:
    with conn.cursor() as cursor:
        if tenant is None:
            cursor.execute("SELECT set_config('hotro.bypass_rls', 'on', true)")
        else:
            cursor.execute(
                "SELECT set_config('hotro.workspace_id', %s, true), set_config('hotro.bypass_rls', %s, true)",
                [tenant, bypass],
            )


@contextmanager
def _marked(kind: str, workspace_id, using: str):
    token = _current.set({**_current.get(), using: (kind, workspace_id)})
    try:
        yield
    finally:
        _current.reset(token)


def tenant_scope(workspace_id, using: str = DEFAULT_DB_ALIAS):
    """Make ``workspace_id``'s rows (and only those) visible for the enclosed transaction."""
    if workspace_id is None:
        raise ScopeError("tenant_scope needs a workspace id.")
    return _scope("tenant", str(workspace_id), using)


def system_scope(using: str = DEFAULT_DB_ALIAS):
    """Make every workspace's rows visible: only for code that legitimately crosses workspaces."""
    return _scope("system", None, using)


def workspace_scope(workspace_id, using: str = DEFAULT_DB_ALIAS):
    """The scope for work on one workspace's rows: nothing new inside that workspace's scope or the
    system scope (which already sees it), ``tenant_scope(workspace_id)`` anywhere else.  For code
    that is handed a workspace id by a trusted caller (keys, blind indexes, domain actions)."""
    scope = current_scope(using)
    if scope is not None and (scope[0] == "system" or scope[1] == str(workspace_id)):
        return nullcontext()
    return tenant_scope(workspace_id, using)


def workspace_id_of(value):
    """The workspace id of a Workspace, of a row with ``workspace_id``, or ``value`` itself (an id)."""
    if getattr(getattr(value, "_meta", None), "model_name", None) == "workspace":
        return value.pk
    return getattr(value, "workspace_id", value)


def in_workspace(argument: str, *, atomic: bool = False):
    """Decorator for trusted actions handed a workspace's object: run in ``workspace_scope`` of the
    workspace of ``argument`` (a Workspace, a row with ``workspace_id``, or an id), inside
    ``transaction.atomic()`` too when ``atomic``.  Callers already in that scope pay nothing."""

    def decorate(func):
        params = list(inspect.signature(func).parameters)
        position = params.index(argument)

        @wraps(func)
        def wrapper(*args, **kwargs):
            value = args[position] if len(args) > position else kwargs[argument]
            with workspace_scope(workspace_id_of(value)):
                if not atomic:
                    return func(*args, **kwargs)
                with transaction.atomic():
                    return func(*args, **kwargs)

        return wrapper

    return decorate


def scoped(workspace_id_getter):
    """Decorator: run the function in ``tenant_scope(workspace_id_getter(*args, **kwargs))``."""

    def decorate(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            with tenant_scope(workspace_id_getter(*args, **kwargs)):
                return func(*args, **kwargs)

        return wrapper

    return decorate


# --- policies -------------------------------------------------------------------------------------
def tenant_tables() -> dict[str, str]:
    """{table: column} for every concrete model keyed by workspace, from the app registry."""
    from django.apps import apps

    from hotro.tenancy.models import Workspace

    tables = {Workspace._meta.db_table: Workspace._meta.pk.column}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.abstract:
            continue
        for field in meta.concrete_fields:
            if field.column == "workspace_id":
                tables[meta.db_table] = "workspace_id"
                break
    return tables


def install_policies(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Enable + force RLS and (re)create the policy on every tenant table; idempotent.  Tables done."""
    conn = connections[using]
    if conn.vendor != "postgresql":
        return []
    existing = set(conn.introspection.table_names())
    done = []
    qn = conn.ops.quote_name
    with transaction.atomic(using=using), conn.cursor() as cursor:
        for table, column in sorted(tenant_tables().items()):
            if table not in existing:
                continue
            expr = _policy_expr(qn(column))
            cursor.execute(f"ALTER TABLE {qn(table)} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"ALTER TABLE {qn(table)} FORCE ROW LEVEL SECURITY")
            cursor.execute(f"DROP POLICY IF EXISTS {POLICY_NAME} ON {qn(table)}")
            cursor.execute(f"CREATE POLICY {POLICY_NAME} ON {qn(table)} USING {expr} WITH CHECK {expr}")
            done.append(table)
    return done


# --- the application role -------------------------------------------------------------------------
def _check_role_name(role_name: str) -> str:
    if not _ROLE_NAME.match(role_name or ""):
        raise ValueError("A role name is lower-case letters, digits and underscores, starting with a letter.")
    return role_name


def ensure_app_role(role_name: str, password: str | None = None, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Create (or fix) the non-owner application role and grant it DML; True if it was created.

    The role is NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; LOGIN when a password is given. Must
    run as the owner of the tables (the migrating user); default privileges cover tables it creates later.
    """
    from psycopg import sql

    conn = connections[using]
    if conn.vendor != "postgresql":
        raise RuntimeError("Row-Level Security needs PostgreSQL; SQLite has no roles.")
    role = sql.Identifier(_check_role_name(role_name))
    conn.ensure_connection()
    raw = conn.connection

    def run(cursor, query):
        cursor.execute(query.as_string(raw))

    with transaction.atomic(using=using), conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role_name])
        created = cursor.fetchone() is None
        attrs = sql.SQL("NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
        if password:
            attrs = sql.SQL("{} LOGIN PASSWORD {}").format(attrs, sql.Literal(password))
        else:
            attrs = sql.SQL("{} NOLOGIN").format(attrs)
        verb = sql.SQL("CREATE ROLE") if created else sql.SQL("ALTER ROLE")
        run(cursor, sql.SQL("{} {} {}").format(verb, role, attrs))
        cursor.execute(
            "SELECT current_schema(), current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
        )
        schema, me, is_super = cursor.fetchone()
        schema = sql.Identifier(schema)
        if not is_super:  # the owner switches to the role with SET ROLE when HOTRO_DB_APP_ROLE is set
            run(cursor, sql.SQL("GRANT {} TO {}").format(role, sql.Identifier(me)))
        for stmt in (
            "GRANT USAGE ON SCHEMA {schema} TO {role}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        ):
            run(cursor, sql.SQL(stmt).format(schema=schema, role=role))
    return created


def set_app_role(sender, connection, **kwargs) -> None:
    """``connection_created`` handler: ``SET ROLE`` to ``settings.HOTRO_DB_APP_ROLE`` when it is set."""
    role = getattr(settings, "HOTRO_DB_APP_ROLE", "")
    if not role or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {connection.ops.quote_name(_check_role_name(role))}")


def on_post_migrate(sender, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    """``post_migrate`` handler: policies on every tenant table, the audit log's append-only trigger."""
    from .audit import install_append_only_trigger

    install_policies(using)
    install_append_only_trigger(using)
