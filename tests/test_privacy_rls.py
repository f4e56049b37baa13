"""Row-Level Security: as the application role, nothing is visible without a workspace scope."""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import override_settings

from hotro.contacts.models import Contact
from hotro.privacy import audit, rls
from hotro.privacy.models import AuditEvent, WorkspaceKey
from hotro.privacy.rls import ScopeError, current_scope, ensure_app_role, scoped, system_scope, tenant_scope
from hotro.tenancy.models import Membership, Team, Workspace

pytestmark = [pytest.mark.django_db, pytest.mark.db_owner]  # creates roles and switches itself


def test_it_finds_every_table_keyed_by_workspace():
    tables = rls.tenant_tables()
    assert tables["hotro_workspace"] == "id"
    for table in (
        "hotro_contact",
        "hotro_membership",
        "hotro_workspace_key",
        "hotro_audit_event",
        "hotro_message",
    ):
        assert tables[table] == "workspace_id"
    assert "hotro_user" not in tables


def test_scopes_nest_for_one_workspace_and_refuse_another(ws_a, ws_b):
    assert current_scope() is None
    with tenant_scope(ws_a.pk):
        with tenant_scope(ws_a.pk):
            assert current_scope() == ("tenant", str(ws_a.pk))
        with pytest.raises(ScopeError), tenant_scope(ws_b.pk):
            pass
        with system_scope():
            assert current_scope() == ("system", None)
        assert current_scope() == ("tenant", str(ws_a.pk))
    assert current_scope() is None


def test_scoped_decorator_runs_the_function_in_the_scope(ws_a):
    @scoped(lambda workspace_id: workspace_id)
    def inside(workspace_id):
        return current_scope()

    assert inside(ws_a.pk) == ("tenant", str(ws_a.pk))
    assert current_scope() is None


# --- PostgreSQL ---------------------------------------------------------------------------------
@pytest.fixture
def app_role(db):
    name = f"hotro_app_test_{uuid.uuid4().hex[:10]}"
    assert ensure_app_role(name) is True
    assert ensure_app_role(name) is False  # idempotent
    return name


@contextmanager
def as_role(role):
    with connection.cursor() as cursor:
        cursor.execute(f'SET LOCAL ROLE "{role}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


@pytest.fixture
def seeded(ws_a, ws_b):
    for ws, n in ((ws_a, 3), (ws_b, 2)):
        for i in range(n):
            Contact.objects.create(workspace=ws, name=f"Customer {i}")
        Team.objects.create(workspace=ws, name="Sales")
    return ws_a, ws_b


@pytest.mark.postgres
def test_policies_are_installed_and_forced_after_migrate():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relrowsecurity AND relforcerowsecurity AND relname IN "
            "('hotro_contact', 'hotro_workspace', 'hotro_workspace_key', 'hotro_audit_event')"
        )
        forced = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT count(*) FROM pg_policies WHERE policyname = %s", [rls.POLICY_NAME])
        policies = cursor.fetchone()[0]
    assert forced == {"hotro_contact", "hotro_workspace", "hotro_workspace_key", "hotro_audit_event"}
    existing = set(connection.introspection.table_names())
    assert policies == len(set(rls.tenant_tables()) & existing)
    assert rls.install_policies()  # idempotent: runs again without error


@pytest.mark.postgres
def test_the_app_role_is_not_privileged(app_role):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = %s", [app_role]
        )
        assert cursor.fetchone() == (False, False, False)


@pytest.mark.postgres
def test_an_unscoped_query_sees_nothing(seeded, app_role):
    with as_role(app_role):
        assert Contact.objects.count() == 0
        assert Workspace.objects.count() == 0
        assert Membership.objects.count() == 0
        assert WorkspaceKey.objects.count() == 0


@pytest.mark.postgres
def test_a_scope_sees_only_its_workspace(seeded, app_role):
    ws_a, ws_b = seeded
    with as_role(app_role):
        with tenant_scope(ws_a.pk):
            assert set(Contact.objects.values_list("workspace_id", flat=True)) == {ws_a.pk}
            assert Contact.objects.count() == 3
            assert list(Workspace.objects.values_list("pk", flat=True)) == [ws_a.pk]
            assert sorted(c.name for c in Contact.objects.all()) == ["Customer 0", "Customer 1", "Customer 2"]
            assert Contact.objects.filter(workspace=ws_b).count() == 0
        assert Contact.objects.count() == 0  # the scope ended with its block
        with tenant_scope(ws_b.pk):
            assert Contact.objects.count() == 2


@pytest.mark.postgres
def test_writing_into_another_workspace_is_refused(seeded, app_role):
    ws_a, ws_b = seeded
    with as_role(app_role):
        with pytest.raises(DatabaseError, match="row-level security"), tenant_scope(ws_a.pk):
            Team.objects.create(workspace=ws_b, name="Intruders")
        with tenant_scope(ws_a.pk):
            assert Team.objects.filter(workspace=ws_b).update(name="Renamed") == 0
            assert Team.objects.filter(workspace=ws_b).delete()[0] == 0
            # the same scope again costs nothing (no savepoint): the savepoint is asked for explicitly
            with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
                Team.objects.filter(workspace=ws_a).update(workspace=ws_b)
            Team.objects.create(workspace=ws_a, name="Support")
    assert set(Team.objects.filter(workspace=ws_b).values_list("name", flat=True)) == {"Sales"}
    assert Team.objects.filter(workspace=ws_a).count() == 2


@pytest.mark.postgres
def test_system_scope_sees_every_workspace(seeded, app_role):
    with as_role(app_role):
        with system_scope():
            assert Contact.objects.count() == 5
            with tenant_scope(seeded[0].pk):  # narrows inside the system scope
                assert Contact.objects.count() == 3
            assert Contact.objects.count() == 5
        assert Contact.objects.count() == 0


@pytest.mark.postgres
def test_the_audit_log_works_under_the_app_role(seeded, app_role):
    ws_a, ws_b = seeded
    with as_role(app_role):
        with tenant_scope(ws_a.pk):
            event = audit.record(ws_a.pk, audit.CONTACT_VIEWED)
            with pytest.raises(ScopeError):  # another workspace's chain is out of reach here
                audit.record(ws_b.pk, audit.CONTACT_VIEWED)
        with pytest.raises(ValueError, match="No workspace"):  # ... and an unknown workspace has none
            audit.record(uuid.uuid4(), audit.CONTACT_VIEWED)
        assert event.seq == 1
        assert AuditEvent.objects.count() == 0
        assert audit.verify_chain() == []  # runs in system scope
        with pytest.raises(DatabaseError), tenant_scope(ws_a.pk):
            AuditEvent.objects.all().delete()


@pytest.mark.postgres
def test_connections_switch_to_the_configured_role(app_role):
    with override_settings(HOTRO_DB_APP_ROLE=app_role):
        rls.set_app_role(sender=None, connection=connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == app_role
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def test_role_names_are_checked():
    with pytest.raises(ValueError):
        rls._check_role_name('app"; DROP TABLE x; --')


@pytest.mark.postgres
def test_rls_setup_command_creates_a_login_role():
    from django.core.management import call_command

    name = f"hotro_app_test_{uuid.uuid4().hex[:10]}"
    call_command("rls_setup", role=name, password="s3cret-for-the-test")
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = %s", [name])
        assert cursor.fetchone() == (False, False, True)
        cursor.execute(
            "SELECT has_table_privilege(%s, 'hotro_contact', 'SELECT, INSERT, UPDATE, DELETE')", [name]
        )
        assert cursor.fetchone()[0] is True
        cursor.execute("SELECT has_table_privilege(%s, 'hotro_contact', 'TRUNCATE')", [name])
        assert cursor.fetchone()[0] is False
