"""``manage.py audit_verify [--workspace UUID]``: recompute the audit hash chains; exit 1 on a problem."""

from django.core.management.base import BaseCommand, CommandError

from hotro.privacy.audit import verify_chain


class Command(BaseCommand):
    help = "Check that the audit log of every workspace (or one) is intact."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="id of one workspace to check")

    def handle(self, *args, **options):
        problems = verify_chain(options.get("workspace"))
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} audit chain(s) broken; see above.", returncode=1)
        self.stdout.write("Audit log intact.")
