"""hotro settings, read from the environment.

``HOTRO_ENV``: ``development`` (default, embedded: SQLite, in-memory channel layer, generated keys),
``test``, or ``production`` (PostgreSQL + Redis; refuses to start with insecure settings).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent.parent
BASE_DIR = Path(os.environ.get("HOTRO_HOME", Path.cwd())).resolve()
VAR_DIR = Path(os.environ.get("HOTRO_VAR_DIR", BASE_DIR / "var"))

HOTRO_ENV = os.environ.get("HOTRO_ENV", "development")
if HOTRO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"HOTRO_ENV must be development, test or production, not {HOTRO_ENV!r}.")
PRODUCTION = HOTRO_ENV == "production"
# Production refuses insecure settings; every reason is collected so that one start lists them all.
PRODUCTION_PROBLEMS: list[str] = []


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_list(name: str, default: str = "") -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


DEBUG = env_bool("HOTRO_DEBUG", False)
if PRODUCTION and DEBUG:
    PRODUCTION_PROBLEMS.append("HOTRO_DEBUG must be off in production: debug pages show secrets.")
INSECURE_DEFAULT_SECRET = "insecure-development-secret-do-not-use-in-production"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY") or os.environ.get("HOTRO_SECRET_KEY") or ""
MAKE_SECRET_HINT = "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
if PRODUCTION:
    if not SECRET_KEY:
        PRODUCTION_PROBLEMS.append(f"Set SECRET_KEY to a random value of 50 characters ({MAKE_SECRET_HINT}).")
    elif (
        SECRET_KEY == INSECURE_DEFAULT_SECRET
        or SECRET_KEY.startswith("django-insecure")
        or len(SECRET_KEY) < 40
        or len(set(SECRET_KEY)) < 5
    ):
        PRODUCTION_PROBLEMS.append(
            f"SECRET_KEY is a default or too weak: use a random value of 50 characters ({MAKE_SECRET_HINT})."
        )
elif not SECRET_KEY:
    secret_file = VAR_DIR / "secret.key"
    if HOTRO_ENV == "development":
        # the embedded mode's database, keys and files live here: readable by their owner only
        VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not secret_file.exists():
            import secrets

            fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(50))
        SECRET_KEY = secret_file.read_text().strip()
    else:
        SECRET_KEY = INSECURE_DEFAULT_SECRET

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
PUBLIC_URL = os.environ.get("HOTRO_PUBLIC_URL", "" if PRODUCTION else "http://127.0.0.1:8000").rstrip("/")
if PRODUCTION:
    if not ALLOWED_HOSTS:
        PRODUCTION_PROBLEMS.append(
            "Set ALLOWED_HOSTS to the host names hotro is served under (comma-separated)."
        )
    elif "*" in ALLOWED_HOSTS:
        PRODUCTION_PROBLEMS.append("ALLOWED_HOSTS must list host names, not '*'.")
    if not PUBLIC_URL.startswith("https://"):
        PRODUCTION_PROBLEMS.append(
            "Set HOTRO_PUBLIC_URL to hotro's https:// address (e.g. https://support.example.com): "
            "production is only served over TLS."
        )

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_tasks_db",
    "crontask",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "hotro.accounts",
    "hotro.tenancy",
    "hotro.privacy",
    "hotro.contacts",
    "hotro.connectors",
    "hotro.conversations",
    "hotro.realtime",
    "hotro.inbox",
    "hotro.api",
]

MIDDLEWARE = [
    "hotro.config.limits.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "hotro.config.urls"
ASGI_APPLICATION = "hotro.config.asgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    }
]

# --- database ------------------------------------------------------------------------------------
DEFAULT_SQLITE = f"sqlite:///{VAR_DIR / 'hotro.sqlite3'}"
DATABASE_URL = os.environ.get("DATABASE_URL", "" if PRODUCTION else DEFAULT_SQLITE)
if PRODUCTION and not DATABASE_URL.startswith(("postgres://", "postgresql://")):
    PRODUCTION_PROBLEMS.append(
        "Set DATABASE_URL to a PostgreSQL address "
        "(postgres://user:password@host:5432/hotro?sslmode=verify-full): production runs on PostgreSQL."
    )
    DATABASE_URL = DATABASE_URL or DEFAULT_SQLITE  # only so that parsing below works; startup is refused
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
    if os.environ.get("HOTRO_TEST_SQLITE"):
        DATABASES["default"]["TEST"] = {"NAME": os.environ["HOTRO_TEST_SQLITE"]}
elif PRODUCTION and "sslmode=" not in DATABASE_URL and not env_bool("HOTRO_DB_LOCAL", False):
    PRODUCTION_PROBLEMS.append(
        "DATABASE_URL must set sslmode (?sslmode=verify-full recommended), or set HOTRO_DB_LOCAL=true for a "
        "database on the same host reached over a Unix socket or loopback."
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, channel layer, tasks -----------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if PRODUCTION and not REDIS_URL:
    PRODUCTION_PROBLEMS.append(
        "Set REDIS_URL (redis://host:6379/0 or rediss://...): production uses Redis for realtime fan-out, "
        "the cache, rate limits and the scheduler lock."
    )
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": os.environ.get("HOTRO_REDIS_PREFIX", "hotro")},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Embedded mode: one process; the layer hands sends from worker threads to the server's loop.
    CHANNEL_LAYERS = {"default": {"BACKEND": "hotro.config.embedded.EmbeddedChannelLayer"}}

TASKS = {
    "default": {
        "BACKEND": os.environ.get("HOTRO_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
CRONTASK = {"REDIS_URL": REDIS_URL or None}

# --- auth ----------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ALLOW_SIGNUPS = env_bool("HOTRO_ALLOW_SIGNUPS", False)
ACCOUNT_ADAPTER = "hotro.accounts.adapter.AccountAdapter"
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
ACCOUNT_LOGOUT_ON_GET = False
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "hotro"

# --- i18n ----------------------------------------------------------------------------------------
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# --- static and files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
HOTRO_FILE_ROOT = Path(os.environ.get("HOTRO_FILE_ROOT", VAR_DIR / "files"))
HOTRO_MAX_ATTACHMENT_BYTES = int(os.environ.get("HOTRO_MAX_ATTACHMENT_BYTES", str(25 * 1024 * 1024)))
# One limit for every request body (413 above it, stated in the answer); attachments are limited
# separately (HOTRO_MAX_ATTACHMENT_BYTES), base64 in JSON takes 4/3 of a file's size.
HOTRO_MAX_REQUEST_BYTES = int(os.environ.get("HOTRO_MAX_REQUEST_BYTES", str(40 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = HOTRO_MAX_REQUEST_BYTES

# --- keys ----------------------------------------------------------------------------------------
HOTRO_KEK_PROVIDER = os.environ.get("HOTRO_KEK_PROVIDER", "hotro.privacy.kek.LocalKeyring")
HOTRO_MASTER_KEY_FILE = os.environ.get("HOTRO_MASTER_KEY_FILE", str(VAR_DIR / "master.key"))
HOTRO_GENERATE_MASTER_KEY = not PRODUCTION
if PRODUCTION and HOTRO_KEK_PROVIDER == "hotro.privacy.kek.LocalKeyring":
    MAKE_KEY_HINT = "python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'"
    if os.environ.get("HOTRO_MASTER_KEY", "").strip():
        pass
    elif not os.environ.get("HOTRO_MASTER_KEY_FILE"):
        PRODUCTION_PROBLEMS.append(
            f"Set HOTRO_MASTER_KEY (32 random bytes, base64: {MAKE_KEY_HINT}) or HOTRO_MASTER_KEY_FILE: "
            "production never generates a master key by itself. Keep a copy apart from database backups."
        )
    elif not Path(HOTRO_MASTER_KEY_FILE).is_file():
        PRODUCTION_PROBLEMS.append(
            f"HOTRO_MASTER_KEY_FILE points to {HOTRO_MASTER_KEY_FILE}, which does not exist or is not a file."
        )

# --- security ------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("HOTRO_SSL_REDIRECT", True)
    # load balancers and monitoring poll these over plain HTTP on the private network
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("HOTRO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    public_origin = PUBLIC_URL.split("/", 3)[:3]
    if PUBLIC_URL.startswith("https://") and "/".join(public_origin) not in CSRF_TRUSTED_ORIGINS:
        CSRF_TRUSTED_ORIGINS.append("/".join(public_origin))

# --- mail ----------------------------------------------------------------------------------------
# Django 6.1's MAILERS (EMAIL_BACKEND and EMAIL_HOST* are deprecated).  Production sends through
# HOTRO_SMTP_URL: smtp://host:25, smtp+starttls://user:password@host:587 or smtps://user:password@host:465.


def smtp_mailer(url: str) -> dict:
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtp+starttls", "smtps"} or not parts.hostname:
        raise ImproperlyConfigured(
            "HOTRO_SMTP_URL must look like smtp://host:25, smtp+starttls://user:password@host:587 "
            "or smtps://user:password@host:465."
        )
    options: dict = {"host": parts.hostname, "timeout": 30}
    if parts.port:
        options["port"] = parts.port
    if parts.username:
        options["username"] = unquote(parts.username)
        options["password"] = unquote(parts.password or "")
    options["use_tls"] = parts.scheme == "smtp+starttls"
    options["use_ssl"] = parts.scheme == "smtps"
    return {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": options}


if os.environ.get("HOTRO_EMAIL_BACKEND"):
    MAILERS = {"default": {"BACKEND": os.environ["HOTRO_EMAIL_BACKEND"]}}
elif PRODUCTION or os.environ.get("HOTRO_SMTP_URL"):
    MAILERS = {"default": smtp_mailer(os.environ.get("HOTRO_SMTP_URL", "smtp://localhost:25"))}
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "hotro@localhost")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

if PRODUCTION_PROBLEMS:
    raise ImproperlyConfigured(
        "hotro refuses to start in production (HOTRO_ENV=production) until these are fixed:\n  - "
        + "\n  - ".join(PRODUCTION_PROBLEMS)
    )

# --- logging: never personal data ----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "hotro.config.logs.StderrHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("HOTRO_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- accounts / tenancy ---------------------------------------------------------------------------
# hotro's allauth template overrides must win over allauth's own (app templates load in app order).
TEMPLATES[0]["DIRS"].append(PACKAGE_DIR / "accounts" / "templates")
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "hotro.tenancy.middleware.UserLanguageMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("hotro.tenancy.middleware.UserLanguageMiddleware") + 1,
    "hotro.api.body.ApiLanguageMiddleware",
)
ACCOUNT_LOGOUT_REDIRECT_URL = "/accounts/login/"
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False  # staff join by invitation: no "sign up" mail to unknown addresses
HOTRO_INVITATION_DAYS = 7
MFA_ADAPTER = "hotro.accounts.mfa.MFAAdapter"  # TOTP secrets sealed under the master key

# --- privacy (audit, rls) ------------------------------------------------------------------------
# Number of reverse proxies in front of hotro whose X-Forwarded-For entries are trusted (0: none;
# "true" means one).
_trusted_proxy = os.environ.get("HOTRO_TRUSTED_PROXY", "").strip().lower()
HOTRO_TRUSTED_PROXY = (
    int(_trusted_proxy) if _trusted_proxy.isdigit() else int(env_bool("HOTRO_TRUSTED_PROXY", False))
)
# PostgreSQL role the application switches to on connect (SET ROLE); unset when running migrate.
HOTRO_DB_APP_ROLE = os.environ.get("HOTRO_DB_APP_ROLE", "")

# --- connectors ----------------------------------------------------------------------------------
# Outbound webhooks to private/loopback addresses are refused in production (SSRF guard).
HOTRO_ALLOW_PRIVATE_WEBHOOKS = env_bool("HOTRO_ALLOW_PRIVATE_WEBHOOKS", not PRODUCTION)
HOTRO_HTTP_TIMEOUT_SECONDS = float(os.environ.get("HOTRO_HTTP_TIMEOUT_SECONDS", "10"))
# A worker holds a claimed delivery / raw event this long; after that another worker may take it.
HOTRO_CLAIM_LEASE_SECONDS = int(os.environ.get("HOTRO_CLAIM_LEASE_SECONDS", "120"))
HOTRO_DELIVERY_MAX_ATTEMPTS = int(os.environ.get("HOTRO_DELIVERY_MAX_ATTEMPTS", "8"))
HOTRO_RAW_EVENT_MAX_ATTEMPTS = int(os.environ.get("HOTRO_RAW_EVENT_MAX_ATTEMPTS", "6"))
HOTRO_RETRY_BASE_SECONDS = float(os.environ.get("HOTRO_RETRY_BASE_SECONDS", "15"))
HOTRO_RETRY_MAX_SECONDS = float(os.environ.get("HOTRO_RETRY_MAX_SECONDS", "3600"))
# Work still queued this long after it was due is re-enqueued by the recovery job (lost enqueue).
HOTRO_STALLED_AFTER_SECONDS = int(os.environ.get("HOTRO_STALLED_AFTER_SECONDS", "60"))
# Task workers beat every 15 s; one silent for 60 s is lost and its work handed on (connectors.workers).
HOTRO_WORKER_BEAT_SECONDS = float(os.environ.get("HOTRO_WORKER_BEAT_SECONDS", "15"))
HOTRO_WORKER_LOST_SECONDS = int(os.environ.get("HOTRO_WORKER_LOST_SECONDS", "60"))
HOTRO_TASK_STUCK_SECONDS = int(os.environ.get("HOTRO_TASK_STUCK_SECONDS", "3600"))

# --- api ---
# django-ninja as an app so its bundled Swagger UI assets are served from our own origin (no CDN).
INSTALLED_APPS.append("ninja")
HOTRO_API_RATE = os.environ.get("HOTRO_API_RATE", "600/m")  # requests per token per window

# --- email channel ---
INSTALLED_APPS.append("hotro.connectors.email.apps.EmailChannelConfig")
# Each e-mail inbox receives forwarded mail at <public_key>@HOTRO_MAIL_DOMAIN (MX or forwarding target).
HOTRO_MAIL_DOMAIN = os.environ.get("HOTRO_MAIL_DOMAIN", "mail.localhost").strip().lower()
# The inbound SMTP/LMTP receiver (`hotro manage email_smtpd`; embedded mode listens on 127.0.0.1).
HOTRO_SMTP_HOST = os.environ.get("HOTRO_SMTP_HOST", "127.0.0.1")
HOTRO_SMTP_PORT = int(os.environ.get("SMTP_PORT", "2525"))
HOTRO_EMAIL_MAX_BYTES = int(os.environ.get("HOTRO_EMAIL_MAX_BYTES", str(40 * 1024 * 1024)))
HOTRO_EMAIL_POLL_SECONDS = int(os.environ.get("HOTRO_EMAIL_POLL_SECONDS", "60"))
HOTRO_EMAIL_IDLE_SECONDS = int(os.environ.get("HOTRO_EMAIL_IDLE_SECONDS", str(29 * 60)))  # RFC 2177
HOTRO_EMAIL_CA_FILE = os.environ.get("HOTRO_EMAIL_CA_FILE", "")  # extra CA for private mail servers
# "Connect with Google / Microsoft" for e-mail inboxes (OAuth2, XOAUTH2): the operator's OAuth clients.
# Register <public URL>/mail/oauth/callback/ as their redirect URI (docs/channels/email.md).
HOTRO_OAUTH_GOOGLE_CLIENT_ID = os.environ.get("HOTRO_OAUTH_GOOGLE_CLIENT_ID", "").strip()
HOTRO_OAUTH_GOOGLE_CLIENT_SECRET = os.environ.get("HOTRO_OAUTH_GOOGLE_CLIENT_SECRET", "").strip()
HOTRO_OAUTH_MICROSOFT_CLIENT_ID = os.environ.get("HOTRO_OAUTH_MICROSOFT_CLIENT_ID", "").strip()
HOTRO_OAUTH_MICROSOFT_CLIENT_SECRET = os.environ.get("HOTRO_OAUTH_MICROSOFT_CLIENT_SECRET", "").strip()
HOTRO_OAUTH_MICROSOFT_TENANT = os.environ.get("HOTRO_OAUTH_MICROSOFT_TENANT", "common").strip() or "common"

# --- livechat ---
INSTALLED_APPS.append("hotro.connectors.livechat")
HOTRO_WIDGET_TOKEN_DAYS = int(os.environ.get("HOTRO_WIDGET_TOKEN_DAYS", "30"))  # visitor token lifetime
# Files people send through hotro's own pages (agents' replies and chat visitors): one limit, stated
# in both.  (HOTRO_WIDGET_MAX_UPLOAD_BYTES is its former name.)
HOTRO_MAX_UPLOAD_BYTES = min(
    int(
        os.environ.get(
            "HOTRO_MAX_UPLOAD_BYTES", os.environ.get("HOTRO_WIDGET_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024))
        )
    ),
    HOTRO_MAX_ATTACHMENT_BYTES,
)
HOTRO_WIDGET_CONNECTS_PER_MINUTE = int(os.environ.get("HOTRO_WIDGET_CONNECTS_PER_MINUTE", "60"))  # per IP

# --- comments ---
INSTALLED_APPS.append("hotro.connectors.comments")
