"""Live-chat inboxes keep their receiving address (``<public_key>@HOTRO_MAIL_DOMAIN``) in their
settings, as e-mail inboxes do: the e-mail channel's notifications (confirmation links) send from it."""

from django.db import migrations


def backfill(apps, schema_editor):
    from django.conf import settings

    from hotro.privacy.rls import system_scope

    Inbox = apps.get_model("connectors", "Inbox")
    with system_scope():  # every workspace's inboxes (RLS is forced, also for the table owner)
        for inbox in Inbox.objects.filter(connector="livechat"):
            wanted = f"{inbox.public_key.lower()}@{settings.HOTRO_MAIL_DOMAIN}"
            if (inbox.settings or {}).get("receiving_address") != wanted:
                inbox.settings = {**(inbox.settings or {}), "receiving_address": wanted}
                inbox.save(update_fields=["settings"])


class Migration(migrations.Migration):
    dependencies = [
        ("connectors", "0003_claims"),
        ("livechat", "0002_visitorpresence"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
