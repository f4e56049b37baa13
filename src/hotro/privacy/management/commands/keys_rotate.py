"""``manage.py keys_rotate``: new master key, every workspace key re-wrapped under it."""

from django.core.management.base import BaseCommand, CommandError

from hotro.privacy.crypto import DecryptionError
from hotro.privacy.rotation import rotate_master_key


class Command(BaseCommand):
    help = "Add a new master key, make it active and re-wrap every workspace key under it."

    def handle(self, *args, **options):
        try:
            new_id = rotate_master_key()
        except DecryptionError as exc:
            raise CommandError(
                f"{exc} Restore the missing master key in the key file, then run this again."
            ) from exc
        self.stdout.write(
            f"Master key {new_id} is now active and every workspace key is wrapped under it. "
            "Keep the older master keys in the key file until backups made before now have expired."
        )
