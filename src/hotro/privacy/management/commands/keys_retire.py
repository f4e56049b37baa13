"""``manage.py keys_retire <slug>``: destroy a workspace's older data key versions once unused."""

from django.core.management.base import BaseCommand, CommandError

from hotro.privacy.rotation import KeysInUse, retire_old_data_keys
from hotro.tenancy.access import workspace_by_slug


class Command(BaseCommand):
    help = "Destroy the data key versions a workspace no longer uses (after keys_reencrypt)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the workspace's short name")

    def handle(self, *args, slug, **options):
        workspace = workspace_by_slug(slug)
        if workspace is None:
            raise CommandError(f"There is no workspace {slug!r}; check the name with `hotro workspaces`.")
        try:
            retired = retire_old_data_keys(workspace)
        except KeysInUse as exc:
            raise CommandError(f"{exc} Command: keys_reencrypt {slug}") from exc
        if retired:
            self.stdout.write(f"Destroyed data key versions {', '.join(map(str, retired))} of {slug}.")
        else:
            self.stdout.write(f"{slug} has no older data key to retire.")
