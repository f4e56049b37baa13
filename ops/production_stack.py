#!/usr/bin/env python3
"""hotro as the README's Production section runs it, on one machine: for CI and for operators.

    .venv/bin/python ops/production_stack.py            # start, print the addresses, Ctrl-C stops
    make production-stack                                # the same

What runs (each a process of its own, with HOTRO_ENV=production):

* a fresh PostgreSQL database, migrated by ``hotro migrate`` as its owner, and the application role
  ``hotro_app`` (NOSUPERUSER NOBYPASSRLS) that every other process switches to (HOTRO_DB_APP_ROLE):
  Row-Level Security applies to all of them;
* Redis (a database number of its own) for realtime fan-out, cache, rate limits and the scheduler lock;
* two ``hotro web`` (uvicorn), two ``hotro worker`` (with heartbeats), one ``hotro scheduler``;
* nginx in front on https (a throw-away certificate authority under the stack's folder), balancing the
  two web processes, passing WebSockets, and redirecting plain http to https;
* a demo workspace and an API token, made with the operator commands under the production environment.

Needs PostgreSQL on 127.0.0.1:5432 (a role that may create databases and roles: ``--admin-url``),
Redis on 127.0.0.1:6379 and nginx (``apt-get install nginx``; ``make test`` installs it).  Nothing is
sent anywhere but loopback.  The tests drive the same class (``ProductionStack``): tests/prodstack_support.py.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
APP_ROLE = "hotro_app"
OWNER_EMAIL = "owner@demo.test"

NGINX_CONF = """\
{user}worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/logs/nginx-error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/nginx/body;
    proxy_temp_path {root}/nginx/proxy;
    fastcgi_temp_path {root}/nginx/fastcgi;
    uwsgi_temp_path {root}/nginx/uwsgi;
    scgi_temp_path {root}/nginx/scgi;
    client_max_body_size {max_body};
    upstream hotro {{
        least_conn;
{upstreams}
    }}
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen 127.0.0.1:{http_port};
        location / {{ return 301 https://$host:{https_port}$request_uri; }}
    }}
    server {{
        listen 127.0.0.1:{https_port} ssl;
        ssl_certificate {root}/tls/server.pem;
        ssl_certificate_key {root}/tls/server.key;
        location / {{
            proxy_pass http://hotro;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 75s;
            proxy_buffering off;
            proxy_next_upstream error timeout http_502 http_503;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_tls(folder: Path, host: str = "127.0.0.1") -> None:
    """A throw-away CA (ca.pem) and a server certificate for ``host`` (server.pem / server.key)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hotro production-stack CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "server.pem").write_bytes(cert.public_bytes(pem) + ca.public_bytes(pem))
    key_path = folder / "server.key"
    key_path.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)


@dataclass
class ProductionStack:
    """The processes of a production installation on loopback.  ``up()`` starts everything and
    returns once nginx answers ``/healthz``; ``kill``/``start`` one process by name (``web-1``,
    ``worker-2``, ``scheduler``); ``down()`` stops all and drops the database."""

    admin_url: str = "postgres://postgres@127.0.0.1:5432/postgres"
    redis_url: str = "redis://127.0.0.1:6379"
    root: Path | None = None
    webs: int = 2
    workers: int = 2
    allow_private_webhooks: bool = False
    python: str = sys.executable
    extra_env: dict = field(default_factory=dict)
    procs: dict = field(default_factory=dict)

    def __post_init__(self):
        self.root = Path(self.root or tempfile.mkdtemp(prefix="hotro-stack-"))
        self.dbname = f"hotro_stack_{secrets.token_hex(4)}"
        self.https_port, self.http_port = free_port(), free_port()
        self.web_ports = [free_port() for _ in range(self.webs)]
        self.url = f"https://127.0.0.1:{self.https_port}"
        self.password = secrets.token_urlsafe(16)
        self.token = ""
        admin = urlsplit(self.admin_url)
        self.database_url = urlunsplit(admin._replace(path=f"/{self.dbname}"))
        self.redis_db = 1 + secrets.randbelow(15)

    # --- environment ------------------------------------------------------------------------------
    @property
    def ca_file(self) -> Path:
        return self.root / "tls" / "ca.pem"

    def tls(self):
        """An SSL context trusting the stack's certificate authority (for clients)."""
        import ssl

        return ssl.create_default_context(cafile=str(self.ca_file))

    def env(self, *, app_role: bool = True) -> dict:
        """The production environment of every process (``app_role``: switch to the RLS role)."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("HOTRO_", "DJANGO_"))
            and k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}
        }
        env.update(
            {
                "HOTRO_ENV": "production",
                "DATABASE_URL": self.database_url,
                "HOTRO_DB_LOCAL": "true",
                "REDIS_URL": f"{self.redis_url}/{self.redis_db}",
                "SECRET_KEY": self.secret_key,
                "HOTRO_MASTER_KEY": self.master_key,
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "HOTRO_PUBLIC_URL": self.url,
                "HOTRO_VAR_DIR": str(self.root / "var"),
                "HOTRO_LOG_LEVEL": "WARNING",
                "HOTRO_ALLOW_PRIVATE_WEBHOOKS": "true" if self.allow_private_webhooks else "false",
                "PYTHONPATH": str(ROOT / "src"),
                **self.extra_env,
            }
        )
        if app_role:
            env["HOTRO_DB_APP_ROLE"] = APP_ROLE
        return env

    def hotro(self, *args: str, app_role: bool = True, check: bool = True) -> str:
        """Run one ``hotro`` command the way an operator would; what it printed."""
        done = subprocess.run(
            [self.python, "-m", "hotro", *args],
            check=False,
            env=self.env(app_role=app_role),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"hotro {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    # --- processes -----------------------------------------------------------------------------------
    def command_for(self, name: str) -> list[str]:
        kind, _, number = name.partition("-")
        base = [self.python, "-m", "hotro"]
        if kind == "web":
            port = self.web_ports[int(number) - 1]
            return [*base, "web", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        if kind == "worker":
            return [*base, "worker", "--interval", "0.1", "--no-startup-delay"]
        if kind == "scheduler":
            return [*base, "scheduler"]
        if kind == "nginx":
            return [
                shutil.which("nginx") or "/usr/sbin/nginx",
                "-p",
                str(self.root),
                "-c",
                str(self.root / "nginx.conf"),
            ]
        raise ValueError(f"No such process: {name}")

    def names(self) -> list[str]:
        return [
            *(f"web-{n}" for n in range(1, self.webs + 1)),
            *(f"worker-{n}" for n in range(1, self.workers + 1)),
            "scheduler",
            "nginx",
        ]

    def start(self, name: str) -> subprocess.Popen:
        log = open(self.root / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - kept by the process
        proc = subprocess.Popen(
            self.command_for(name), env=self.env(), cwd=self.root, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.procs[name] = proc
        if name.startswith("web-"):
            self.wait_for(f"http://127.0.0.1:{self.web_ports[int(name[4:]) - 1]}/healthz", name)
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)
            proc.wait(timeout=30)

    def log(self, name: str) -> str:
        path = self.root / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_for(self, url: str, name: str, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{name} stopped at start-up:\n{self.log(name)[-4000:]}")
            try:
                if httpx.get(url, verify=self.tls(), timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not answer {url} within {timeout:.0f} s:\n{self.log(name)[-4000:]}")

    # --- up / down -----------------------------------------------------------------------------------
    def up(self) -> ProductionStack:
        import psycopg

        self.secret_key = secrets.token_urlsafe(50)
        self.master_key = base64.b64encode(os.urandom(32)).decode()
        for folder in ("logs", "var", "nginx"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        make_tls(self.root / "tls")
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.dbname}"')
        try:
            # the README's steps: migrate as the owner (it grants HOTRO_DB_APP_ROLE), then operator
            # commands with the production environment exported, role included
            self.hotro("migrate", "--noinput")
            self.hotro("createworkspace", "demo", "--owner", OWNER_EMAIL, "--password", self.password)
            printed = self.hotro("createtoken", "demo", "--name", "stack").splitlines()
            self.token = next(line.strip() for line in printed if line.strip().startswith("hotro_"))
            self.write_nginx_conf()
            for name in self.names():
                self.start(name)
            self.wait_for(f"{self.url}/healthz", "nginx")
        except BaseException:
            self.down()
            raise
        (self.root / "stack.json").write_text(json.dumps(self.info(), indent=2))
        return self

    def write_nginx_conf(self) -> None:
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.root / "nginx" / sub).mkdir(parents=True, exist_ok=True)
        upstreams = "\n".join(
            f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=3s;" for port in self.web_ports
        )
        megabytes = int(self.extra_env.get("HOTRO_MAX_REQUEST_BYTES", 40 * 1024 * 1024)) // (1024 * 1024) + 1
        (self.root / "nginx.conf").write_text(
            NGINX_CONF.format(
                user="user root;\n" if os.geteuid() == 0 else "",
                root=self.root,
                upstreams=upstreams,
                http_port=self.http_port,
                https_port=self.https_port,
                max_body=f"{megabytes}m",
            )
        )

    def info(self) -> dict:
        return {
            "url": self.url,
            "http_url": f"http://127.0.0.1:{self.http_port}",
            "web_urls": [f"http://127.0.0.1:{p}" for p in self.web_ports],
            "ca_file": str(self.ca_file),
            "owner": OWNER_EMAIL,
            "password": self.password,
            "api_token": self.token,
            "database_url": self.database_url,
            "redis_url": f"{self.redis_url}/{self.redis_db}",
            "root": str(self.root),
        }

    def down(self) -> None:
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        try:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
        except Exception as exc:  # noqa: BLE001 - reported, the rest is cleaned up anyway
            print(f"Could not drop database {self.dbname}: {exc}", file=sys.stderr)
        try:
            import redis

            redis.Redis.from_url(f"{self.redis_url}/{self.redis_db}").flushdb()
        except Exception:  # noqa: BLE001, S110 - an unreachable Redis has nothing to clean
            pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379")
    parser.add_argument("--dir", type=Path, help="keep logs, keys and files here (default: a temp dir)")
    args = parser.parse_args()
    stack = ProductionStack(admin_url=args.admin_url, redis_url=args.redis_url, root=args.dir)
    print("Starting hotro in production mode (this takes a minute) ...", flush=True)
    stack.up()
    info = stack.info()
    print(
        f"\nhotro is serving at {info['url']} (certificate authority: {info['ca_file']})\n"
        f"  sign in as {info['owner']} with password {info['password']}\n"
        f"  API token: {info['api_token']}\n"
        f"  processes: {', '.join(stack.procs)}; logs under {stack.root / 'logs'}\n"
        "Ctrl-C stops everything and drops the database.",
        flush=True,
    )
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        while not stop:
            time.sleep(1)
            for name, proc in list(stack.procs.items()):
                if proc.poll() is not None:
                    print(f"{name} stopped (exit {proc.returncode}); see {stack.root / 'logs' / name}.log")
                    stack.procs.pop(name)
    except KeyboardInterrupt:
        pass
    finally:
        stack.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
