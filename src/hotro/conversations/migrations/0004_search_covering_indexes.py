"""Indexes for keyword search of conversation lists (issue 3 §5).

* ``conv_activity``: conversations newest activity first without a status filter, so a list (and
  a search over it) reads one page in order instead of sorting the workspace's conversations.
* PostgreSQL only: ``message_thread`` rebuilt as a covering index, ``INCLUDE (search_tokens)``, so
  the ``EXISTS`` probe of each conversation checks its messages' tokens with an index-only scan
  instead of fetching every message row.  SQLite has no covering indexes (and would warn about one
  declared in ``Meta``), so this is done here, like the GIN index of 0002.
"""

from django.db import migrations, models

THREAD_COLUMNS = "hotro_message (conversation_id, created_at)"


def cover_tokens(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS message_thread")
        schema_editor.execute(f"CREATE INDEX message_thread ON {THREAD_COLUMNS} INCLUDE (search_tokens)")


def uncover_tokens(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS message_thread")
        schema_editor.execute(f"CREATE INDEX message_thread ON {THREAD_COLUMNS}")


class Migration(migrations.Migration):
    dependencies = [("conversations", "0003_message_recent")]

    operations = [
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(fields=["workspace", "-last_activity_at", "-id"], name="conv_activity"),
        ),
        migrations.RunPython(cover_tokens, uncover_tokens),
    ]
