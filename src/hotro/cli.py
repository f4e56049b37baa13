"""The ``hotro`` command: run the services and do operator chores.

``hotro up`` is the embedded all-in-one mode; ``hotro web``, ``hotro worker`` and ``hotro scheduler``
are the production processes.  Settings come from the environment (see ``hotro.config.settings``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

DEMO_SLUG = "demo"
DEMO_OWNER_EMAIL = "owner@demo.hotro.local"
DEMO_EMAIL_INBOX = "Support e-mail"


class CommandFailed(Exception):
    """An error the operator can act on: printed as a sentence, exit status 1."""


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotro.config.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        raise CommandFailed(f"hotro cannot start: {exc}") from exc
    from django.utils import translation

    translation.activate("en")  # the command line speaks English, like its own messages


def say(message: str = "") -> None:
    print(message, flush=True)


PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def generate_password(length: int = 20) -> str:
    """A random password that is easy to copy (no look-alike characters, no leading dash)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))


def get_workspace(slug: str):
    from hotro.tenancy.access import workspace_by_slug

    workspace = workspace_by_slug(slug)
    if workspace is None:
        raise CommandFailed(
            f"There is no workspace {slug!r}. `hotro workspaces` lists them; or create it first."
        )
    return workspace


def run_migrate(verbosity: int = 1) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


def create_workspace(
    *, slug: str, owner: str, name: str | None, password: str | None
) -> tuple[object, str | None]:
    """Create a workspace; returns it and the password generated for a new owner (None otherwise)."""
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email, validate_slug

    from hotro.tenancy.actions import do_create_workspace
    from hotro.tenancy.models import Workspace

    try:
        validate_slug(slug)
        validate_email(owner)
    except ValidationError as exc:
        raise CommandFailed(" ".join(exc.messages)) from None
    if Workspace.objects.filter(slug=slug).exists():
        raise CommandFailed(f"A workspace {slug!r} already exists. Choose another slug.")
    generated = None
    if password is None and not get_user_model().objects.filter(email__iexact=owner).exists():
        password = generated = generate_password()
    workspace = do_create_workspace(
        slug=slug, name=name or slug.replace("-", " ").title(), owner_email=owner, password=password
    )
    return workspace, generated


# --- subcommands ----------------------------------------------------------------------------------


def cmd_up(args: argparse.Namespace) -> None:
    os.environ.setdefault("HOTRO_ENV", "development")
    setup_django()
    from django.conf import settings

    from hotro.config import embedded

    ensure_port_free(args.host, args.port)
    for directory in (settings.VAR_DIR, settings.STATIC_ROOT, settings.HOTRO_FILE_ROOT):
        os.makedirs(directory, exist_ok=True)
    say("Applying database migrations ...")
    run_migrate(verbosity=0)
    shown_host = "127.0.0.1" if args.host in {"0.0.0.0", "::"} else args.host  # noqa: S104
    base_url = f"http://{shown_host}:{args.port}"
    say()
    say(f"hotro is starting at {base_url}/")
    if not args.no_demo:
        announce_demo_workspace(base_url)
    if not args.no_mail:
        say(
            f"  Forwarded mail: SMTP on {settings.HOTRO_SMTP_HOST}:{settings.HOTRO_SMTP_PORT} "
            f"for <inbox key>@{settings.HOTRO_MAIL_DOMAIN} (SMTP_PORT changes the port)."
        )
        if not args.no_demo:
            announce_demo_email_inbox()
    say("Press Ctrl-C to stop.")
    say()
    embedded.serve(
        args.host,
        args.port,
        worker=not args.no_worker,
        scheduler=not args.no_scheduler,
        mail=not args.no_mail,
    )
    say("hotro stopped.")


def ensure_port_free(host: str, port: int) -> None:
    """Fail before migrating when the port is taken (uvicorn would only say so after start-up)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise CommandFailed(
                f"Cannot listen on {host}:{port} ({exc.strerror}). Stop what uses that port, "
                f"or choose another one: PORT={port + 1} make up"
            ) from None


def announce_demo_workspace(base_url: str) -> None:
    from hotro.tenancy.models import Workspace

    if Workspace.objects.filter(slug=DEMO_SLUG).exists():
        say(f"  Sign in at {base_url}/accounts/login/ as {DEMO_OWNER_EMAIL}")
        say(
            "  (the password was printed on the first start; `hotro manage changepassword "
            f"{DEMO_OWNER_EMAIL}` sets a new one)."
        )
        return
    _, password = create_workspace(slug=DEMO_SLUG, owner=DEMO_OWNER_EMAIL, name="Demo", password=None)
    say(f"  Created the demo workspace {DEMO_SLUG!r}.")
    say(f"  Sign in at {base_url}/accounts/login/")
    say(f"    e-mail:   {DEMO_OWNER_EMAIL}")
    if password:
        say(f"    password: {password}")
        say("  This password is shown only once: keep it somewhere safe.")


def announce_demo_email_inbox() -> None:
    """The demo's forwarding-only e-mail inbox (created on first run): mail sent to its receiving
    address becomes a conversation at once, so a new user can try the channel."""
    from hotro.connectors.email.inboxes import create_email_inbox, receiving_address
    from hotro.connectors.models import Inbox
    from hotro.privacy.rls import system_scope
    from hotro.tenancy.models import Workspace

    workspace = Workspace.objects.filter(slug=DEMO_SLUG).first()
    if workspace is None:
        return
    with system_scope():
        inbox = Inbox.objects.filter(workspace=workspace, connector="email").order_by("created_at").first()
    if inbox is None:
        inbox = create_email_inbox(workspace, DEMO_EMAIL_INBOX)
        say(f"  Created the demo e-mail inbox {DEMO_EMAIL_INBOX!r} (forwarding only).")
    say(f"  Mail to {receiving_address(inbox)} becomes a conversation in the demo workspace.")


def collect_static() -> None:
    """Copy the static files to STATIC_ROOT (compressed) where production's WhiteNoise serves them;
    a lock keeps two ``hotro web`` starting on one machine from writing the same files at once."""
    import fcntl

    from django.conf import settings
    from django.core.management import call_command

    root = Path(settings.STATIC_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".collect.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        call_command("collectstatic", interactive=False, verbosity=0)


def cmd_web(args: argparse.Namespace) -> None:
    setup_django()  # fail early, with a sentence, on bad settings
    import uvicorn
    from django.conf import settings

    from hotro.config.logs import uvicorn_log_config

    if not settings.WHITENOISE_USE_FINDERS:  # production: serve the collected files
        collect_static()

    uvicorn.run(
        "hotro.config.asgi:application",
        host=args.host,
        port=args.port,
        workers=args.workers,
        lifespan="off",
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        log_level=args.log_level,
        log_config=uvicorn_log_config(),
    )


def cmd_worker(args: argparse.Namespace) -> None:
    setup_django()
    from django.core.management import call_command

    from hotro.connectors.scheduling import use_worker_id
    from hotro.connectors.workers import Heartbeat, new_worker_id

    options = list(args.options)
    if "--worker-id" in options and options.index("--worker-id") + 1 < len(options):
        worker_id = options[options.index("--worker-id") + 1]
    else:
        worker_id = new_worker_id()
        options = ["--worker-id", worker_id, *options]
    use_worker_id(worker_id)  # claims carry the id the heartbeat reports
    heartbeat = Heartbeat(worker_id)
    heartbeat.start()
    try:
        call_command("db_worker", *options)
    finally:
        heartbeat.stop()
        heartbeat.join(timeout=10)


def cmd_scheduler(args: argparse.Namespace) -> None:
    setup_django()
    from django.core.management import call_command

    call_command("crontask", *args.options)


def cmd_smtpd(args: argparse.Namespace) -> None:
    setup_django()
    from django.core.management import call_command

    options = ["--lmtp"] if args.lmtp else []
    if args.host:
        options += ["--host", args.host]
    if args.port is not None:
        options += ["--port", str(args.port)]
    call_command("email_smtpd", *options)


def cmd_email_idle(args: argparse.Namespace) -> None:
    setup_django()
    from django.core.management import call_command

    call_command("email_idle")


def cmd_migrate(args: argparse.Namespace) -> None:
    # Migrations run as the tables' owner (the user of DATABASE_URL), never as the application role,
    # even when HOTRO_DB_APP_ROLE is exported for the other commands; the role then gets its grants.
    app_role = os.environ.pop("HOTRO_DB_APP_ROLE", "")
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", *args.options, interactive=False)
    if app_role and connection.vendor == "postgresql":
        from hotro.privacy.rls import ensure_app_role

        ensure_app_role(app_role)
        say(f"Row-Level Security policies installed; role {app_role!r} may read and write the tables.")


def cmd_workspaces(args: argparse.Namespace) -> None:
    setup_django()
    from hotro.tenancy.access import all_workspaces

    found = all_workspaces()
    if not found:
        say("There is no workspace yet: `hotro createworkspace SLUG --owner EMAIL` creates one.")
    for workspace in found:
        say(f"{workspace.slug}\t{workspace.name}\t{workspace.language}\t{workspace.created_at:%Y-%m-%d}")


def cmd_manage(args: argparse.Namespace) -> None:
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["hotro manage", *args.options])


def cmd_createworkspace(args: argparse.Namespace) -> None:
    setup_django()
    workspace, password = create_workspace(
        slug=args.slug, owner=args.owner, name=args.name, password=args.password
    )
    say(f"Created workspace {workspace.slug!r} ({workspace.name}) owned by {args.owner.lower()}.")
    if password:
        say(f"Password for {args.owner.lower()}: {password}")
        say("It is shown only once: keep it somewhere safe.")


def cmd_createtoken(args: argparse.Namespace) -> None:
    setup_django()
    from hotro.api.tokens import create_token

    workspace = get_workspace(args.slug)
    _, plaintext = create_token(workspace, name=args.name)
    say(f"API token {args.name!r} for workspace {workspace.slug!r}:")
    say(plaintext)
    say("It is shown only once: keep it somewhere safe.")


def cmd_keys_rotate(args: argparse.Namespace) -> None:
    setup_django()
    from django.core.exceptions import ImproperlyConfigured

    from hotro.privacy.rotation import rotate_master_key

    try:
        new_id = rotate_master_key()
    except ImproperlyConfigured as exc:
        raise CommandFailed(str(exc)) from None
    say(f"Master key rotated: every workspace key is now wrapped by master key {new_id!r}.")


def cmd_keys_reencrypt(args: argparse.Namespace) -> None:
    setup_django()
    from hotro.privacy.keys import KeyDestroyed
    from hotro.privacy.rotation import reencrypt_workspace

    workspace = get_workspace(args.workspace)
    try:
        result = reencrypt_workspace(workspace, progress=True)
    except KeyDestroyed:
        raise CommandFailed(
            f"Workspace {workspace.slug!r} was shredded: there is nothing to re-encrypt."
        ) from None
    say(
        f"Workspace {workspace.slug!r}: {result['rows']} rows and {result['files']} files are sealed "
        f"under data key version {result['key_version']}."
    )
    if result.get("unreadable"):
        raise CommandFailed(
            f"{result['unreadable']} values could not be decrypted and were left as they are; "
            "check the master key and the workspace's audit log."
        )


def cmd_audit_verify(args: argparse.Namespace) -> None:
    setup_django()
    from hotro.privacy.audit import verify_chain

    workspace_id = get_workspace(args.workspace).pk if args.workspace else None
    problems = list(verify_chain(workspace_id=workspace_id))
    scope = f"workspace {args.workspace!r}" if args.workspace else "all workspaces"
    if problems:
        for problem in problems:
            say(f"  {problem}")
        raise CommandFailed(f"The audit log of {scope} has {len(problems)} problem(s); see above.")
    say(f"The audit log of {scope} is intact.")


# --- parser ---------------------------------------------------------------------------------------


def default_port() -> int:
    raw = os.environ.get("PORT", "8000")
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"PORT must be a number, not {raw!r}.") from None


def add_mail_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """The e-mail channel's production processes (embedded mode runs both inside ``hotro up``)."""
    p = add("smtpd", cmd_smtpd, "Receive forwarded mail for the e-mail inboxes (SMTP or LMTP).")
    p.add_argument("--host", help="default: $HOTRO_SMTP_HOST or 127.0.0.1")
    p.add_argument("--port", type=int, help="default: $SMTP_PORT or 2525")
    p.add_argument("--lmtp", action="store_true", help="speak LMTP instead of SMTP")
    add("email-idle", cmd_email_idle, "Watch the e-mail inboxes' IMAP folders (IDLE) and fetch new mail.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotro", description="hotro: privacy-first omnichannel customer care."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], None], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = add(
        "up", cmd_up, "Run everything in one process on SQLite under ./var (web, worker, scheduler, mail)."
    )
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=default_port(), help="default: $PORT or 8000")
    p.add_argument("--no-demo", action="store_true", help="do not create the demo workspace")
    p.add_argument("--no-worker", action="store_true", help="do not run the task worker")
    p.add_argument("--no-scheduler", action="store_true", help="do not run the scheduler")
    p.add_argument(
        "--no-mail", action="store_true", help="do not run the SMTP receiver and the IMAP IDLE watcher"
    )

    p = add("web", cmd_web, "Serve HTTP and WebSocket (uvicorn, ASGI).")
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=default_port(), help="default: $PORT or 8000")
    p.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))
    p.add_argument(
        "--forwarded-allow-ips",
        default=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        help="proxies trusted for X-Forwarded-* headers (default: 127.0.0.1)",
    )
    p.add_argument("--log-level", default="info")

    passthrough = "extra options are passed to Django's %s command"
    p = add("worker", cmd_worker, "Run a background task worker (django-tasks-db).")
    p.add_argument("options", nargs="*", help=passthrough % "db_worker")
    p = add("scheduler", cmd_scheduler, "Run the periodic-job scheduler (django-crontask).")
    p.add_argument("options", nargs="*", help=passthrough % "crontask")
    add_mail_commands(add)
    p = add("migrate", cmd_migrate, "Apply database migrations.")
    p.add_argument("options", nargs="*", help=passthrough % "migrate")
    p = add("manage", cmd_manage, "Run any Django management command (e.g. changepassword).")
    p.add_argument("options", nargs="*")

    p = add("createworkspace", cmd_createworkspace, "Create a workspace and its owner.")
    p.add_argument("slug")
    p.add_argument("--owner", required=True, help="owner's e-mail address")
    p.add_argument("--name", help="display name (default: from the slug)")
    p.add_argument("--password", help="owner's password (default: generated and printed once)")

    add("workspaces", cmd_workspaces, "List the workspaces (slug, name, language, created).")

    p = add("createtoken", cmd_createtoken, "Create an API token for a workspace; prints it once.")
    p.add_argument("slug")
    p.add_argument("--name", default="cli", help="a label for the token")

    keys = sub.add_parser("keys", help="Master and workspace key management.")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    p = keys_sub.add_parser("rotate", help="Rotate the master key (re-wraps every workspace key).")
    p.set_defaults(func=cmd_keys_rotate)
    p = keys_sub.add_parser("reencrypt", help="Re-encrypt a workspace's data under its current key.")
    p.add_argument("workspace", help="workspace slug")
    p.set_defaults(func=cmd_keys_reencrypt)

    audit = sub.add_parser("audit", help="Audit log tools.")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    p = audit_sub.add_parser("verify", help="Verify the audit log's hash chain.")
    p.add_argument("workspace", nargs="?", help="workspace slug (default: all)")
    p.set_defaults(func=cmd_audit_verify)
    return parser


PASSTHROUGH_COMMANDS = {"worker", "scheduler", "migrate", "manage"}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in PASSTHROUGH_COMMANDS:
        # Everything after the command goes, untouched and in order, to the Django command behind it.
        args = build_parser().parse_args(argv[:1])
        args.options = argv[1:]
    else:
        args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except CommandFailed as exc:
        print(exc, file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
