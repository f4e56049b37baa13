"""``manage.py rls_setup --role hotro_app``: the non-owner role the application connects as.

Run as the owner of the tables (the user that runs ``migrate``).  Afterwards either put that role in
``DATABASE_URL`` (give ``--password`` or ``HOTRO_DB_APP_PASSWORD`` so it can log in) or set
``HOTRO_DB_APP_ROLE`` so every connection switches to it with ``SET ROLE``.
"""

import os

from django.core.management.base import BaseCommand, CommandError

from hotro.privacy.rls import ensure_app_role, install_policies


class Command(BaseCommand):
    help = "Create the PostgreSQL application role and install the Row-Level Security policies."

    def add_arguments(self, parser):
        parser.add_argument("--role", default=os.environ.get("HOTRO_DB_APP_ROLE") or "hotro_app")
        parser.add_argument(
            "--password",
            default=os.environ.get("HOTRO_DB_APP_PASSWORD") or None,
            help="makes it a LOGIN role (default: from HOTRO_DB_APP_PASSWORD; none: NOLOGIN)",
        )

    def handle(self, *args, **options):
        try:
            created = ensure_app_role(options["role"], options["password"])
        except (RuntimeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        tables = install_policies()
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} role {options['role']}; row-level security on {len(tables)} tables.")
