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
    raise ImproperlyConfigured("HOTRO_ENV must be development, test or production.")
PRODUCTION = HOTRO_ENV == "production"


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
INSECURE_DEFAULT_SECRET = "insecure-development-secret-do-not-use-in-production"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY") or os.environ.get("HOTRO_SECRET_KEY") or ""
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("Set SECRET_KEY: production refuses to start without its own secret.")
    secret_file = VAR_DIR / "secret.key"
    if HOTRO_ENV == "development":
        VAR_DIR.mkdir(parents=True, exist_ok=True)
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
PUBLIC_URL = os.environ.get("HOTRO_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

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
if not DATABASE_URL:
    raise ImproperlyConfigured("Set DATABASE_URL (postgres://...): production runs on PostgreSQL.")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("HOTRO_TEST_SQLITE", "")} if os.environ.get(
        "HOTRO_TEST_SQLITE"
    ) else {}
elif PRODUCTION and "sslmode" not in DATABASE_URL and not env_bool("HOTRO_DB_LOCAL", False):
    raise ImproperlyConfigured(
        "DATABASE_URL must set sslmode (verify-full recommended), or HOTRO_DB_LOCAL=true for a database "
        "on the same host reached over a Unix socket or loopback."
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, channel layer, tasks -----------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if PRODUCTION and not REDIS_URL:
    raise ImproperlyConfigured("Set REDIS_URL: production uses Redis for realtime fan-out and rate limits.")
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
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

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
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage" if PRODUCTION
                    else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = not PRODUCTION
HOTRO_FILE_ROOT = Path(os.environ.get("HOTRO_FILE_ROOT", VAR_DIR / "files"))
HOTRO_MAX_ATTACHMENT_BYTES = int(os.environ.get("HOTRO_MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = 40 * 1024 * 1024

# --- keys ----------------------------------------------------------------------------------------
HOTRO_KEK_PROVIDER = os.environ.get("HOTRO_KEK_PROVIDER", "hotro.privacy.kek.LocalKeyring")
HOTRO_MASTER_KEY_FILE = os.environ.get("HOTRO_MASTER_KEY_FILE", str(VAR_DIR / "master.key"))
HOTRO_GENERATE_MASTER_KEY = not PRODUCTION
if PRODUCTION and not (os.environ.get("HOTRO_MASTER_KEY") or os.environ.get("HOTRO_MASTER_KEY_FILE")):
    raise ImproperlyConfigured("Set HOTRO_MASTER_KEY or HOTRO_MASTER_KEY_FILE: production needs a master key.")

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
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("HOTRO_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    if SECRET_KEY == INSECURE_DEFAULT_SECRET or len(SECRET_KEY) < 40:
        raise ImproperlyConfigured("SECRET_KEY must be a random value of at least 40 characters.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Set ALLOWED_HOSTS to the host names hotro is served under.")
    if not PUBLIC_URL.startswith("https://"):
        raise ImproperlyConfigured("HOTRO_PUBLIC_URL must be an https:// address in production.")

# --- mail ----------------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("HOTRO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
                               if not PRODUCTION else "django.core.mail.backends.smtp.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "hotro@localhost")

# --- logging: never personal data ----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("HOTRO_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
