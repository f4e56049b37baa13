"""``manage.py keys_reencrypt <slug>``: re-seal a workspace's data under a new data key version."""

from django.core.management.base import BaseCommand, CommandError

from hotro.privacy.keys import KeyDestroyed
from hotro.privacy.rotation import reencrypt_workspace
from hotro.tenancy.access import workspace_by_slug


class Command(BaseCommand):
    help = "Re-encrypt every encrypted value and file of a workspace under a new data key (resumable)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the workspace's short name")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, slug, batch_size, no_progress, **options):
        workspace = workspace_by_slug(slug)
        if workspace is None:
            raise CommandError(f"There is no workspace {slug!r}; check the name with `hotro workspaces`.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            result = reencrypt_workspace(workspace, progress=not no_progress, batch_size=batch_size)
        except KeyDestroyed as exc:
            raise CommandError(
                "This workspace's keys were destroyed; there is nothing left to re-encrypt."
            ) from exc
        self.stdout.write(
            f"Workspace {slug}: data key version {result['key_version']} now seals everything "
            f"({result['rows']} rows and {result['files']} files rewritten)."
        )
        if result["unreadable"]:
            self.stderr.write(
                f"{result['unreadable']} values could not be read and were left unchanged "
                "(altered or misplaced ciphertext); the audit log has the run."
            )
        self.stdout.write(f"When you are ready, retire the older data keys with `keys_retire {slug}`.")
