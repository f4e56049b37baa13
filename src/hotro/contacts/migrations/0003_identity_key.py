"""Contact identities get an exact key (``blind.identity_key``) and are unique on it.

Existing rows are keyed from their decrypted address (the constraint follows in 0004, in a
transaction of its own: PostgreSQL refuses to alter a table with deferred checks pending).  Rows that turn out to be the same sender (two
workers once created one sender twice) are folded into the oldest: everything that pointed at a
duplicate points at the oldest identity, then the duplicate is deleted.
"""

from django.db import migrations, models


def key_identities(apps, schema_editor):
    from hotro.privacy import blind

    connection = schema_editor.connection
    if connection.vendor == "postgresql":  # FORCE'd Row-Level Security applies to the owner too
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('hotro.bypass_rls', 'on', true)")
    ContactIdentity = apps.get_model("contacts", "ContactIdentity")
    relations = [
        f for f in ContactIdentity._meta.get_fields(include_hidden=True) if f.one_to_many and f.auto_created
    ]
    kept: dict[tuple, object] = {}
    for identity in ContactIdentity.objects.order_by("created_at", "id").iterator(chunk_size=500):
        key = blind.identity_key(identity.workspace_id, identity.channel, identity.address or "")
        first = kept.setdefault((identity.workspace_id, identity.channel, key), identity)
        if first is identity:
            ContactIdentity.objects.filter(pk=identity.pk).update(address_key=key)
            continue
        for relation in relations:
            relation.related_model._base_manager.filter(**{relation.field.name: identity.pk}).update(
                **{relation.field.name: first.pk}
            )
        ContactIdentity.objects.filter(pk=identity.pk).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0002_suppression"),
        ("conversations", "0004_search_covering_indexes"),
        ("email_channel", "0001_initial"),
        ("livechat", "0003_receiving_address"),
    ]

    operations = [
        migrations.AddField(
            model_name="contactidentity",
            name="address_key",
            field=models.CharField(default="", max_length=32),
            preserve_default=False,
        ),
        migrations.RunPython(key_identities, migrations.RunPython.noop, elidable=True),
    ]
