"""Settings for the integration hub, driven by environment variables.

With no environment set the hub runs embedded: SQLite and a filesystem Celery broker under
`var/`. `DATABASE_URL` and `REDIS_URL` switch to PostgreSQL and Redis; `SALESFORCE_*` and `SAP_*`
point the connectors at a real org and tenant. `HUB_SANDBOX=1` (the demo and the tests) installs
the local Salesforce / SAP sandboxes and points the connectors at them. Production — neither
`HUB_SANDBOX` nor `DJANGO_DEBUG` — refuses to start without a real secret key and real connector
settings.

Importing this module writes nothing to disk: the folders under `var/` are made where they are
first used (`IntegrationHubConfig.ready` for SQLite and static files, the Celery app for the
filesystem broker).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("HUB_VAR_DIR", BASE_DIR / "var"))


# -- typed environment helpers: junk values fail loudly at start-up, not at 3 a.m. -------------
def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true/false)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum {minimum}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum {minimum}")
    return value


_RATE_PERIODS = ("s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day")


def env_rate(name: str, default: str) -> str:
    """A DRF throttle rate such as `1200/min`: a positive count per second, minute, hour or day."""
    raw = os.environ.get(name)
    value = default if raw is None or raw.strip() == "" else raw.strip()
    count, _, period = value.partition("/")
    if not count.isdigit() or int(count) < 1 or period not in _RATE_PERIODS:
        raise ImproperlyConfigured(f"{name}={value!r} is not a rate (use e.g. 60/min, 10/s, 1000/hour)")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default) or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", default=False)
# The local Salesforce and SAP sandboxes: their apps, their URL routing and the connector defaults
# that point at them. On for `make demo` and the tests; never in production.
HUB_SANDBOX = env_bool("HUB_SANDBOX", default=False)
# Before HUB_SANDBOX existed this was the only production guard; it still demands a real key.
HUB_REQUIRE_SECRET_KEY = env_bool("HUB_REQUIRE_SECRET_KEY", default=False)
PRODUCTION = not DEBUG and not HUB_SANDBOX

# Embedded default only: a key that never leaves the machine, refused in production.
EMBEDDED_SECRET_KEY = "embedded-insecure-key-set-DJANGO_SECRET_KEY-in-production"
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or EMBEDDED_SECRET_KEY
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "axes",
    "csp",
    "drf_spectacular",
    "guardian",
    "django_celery_beat",
    "django_htmx",
    "template_partials",
    "integration_hub.apps.IntegrationHubConfig",
    "exceptions.apps.ExceptionsConfig",
    "crosswalks.apps.CrosswalksConfig",
    "approvals.apps.ApprovalsConfig",
    "integration_hub.ap.apps.ApConfig",
]
if HUB_SANDBOX:
    INSTALLED_APPS += [
        "integration_hub.sandbox.apps.SandboxConfig",
        "integration_hub.sandbox.salesforce.apps.SalesforceSandboxConfig",
        "integration_hub.sandbox.sap.apps.SapSandboxConfig",
        "integration_hub.sandbox.netsuite.apps.NetSuiteSandboxConfig",
    ]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "integration_hub.security.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a refused sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]
if HUB_SANDBOX:
    # First, so a request a sandbox server received never reaches the hub's own URLs.
    MIDDLEWARE.insert(0, "integration_hub.sandbox.middleware.SandboxUrlconfMiddleware")

ROOT_URLCONF = "integration_hub.urls"
WSGI_APPLICATION = "integration_hub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# -- database: SQLite embedded, PostgreSQL (psycopg 3) when DATABASE_URL is set ----------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "hub.sqlite3"),
            # Web, worker, beat and both sandboxes share this file: WAL plus IMMEDIATE
            # transactions keep them from tripping over each other's locks.
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
    # The triage list's covering indexes (INCLUDE columns) are a PostgreSQL speed-up; SQLite
    # builds them without the extra columns, which is all the embedded demo needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: it refuses a locked-out user+IP before any password is checked (force_login in tests
    # and browser_login bypass authenticate(), so they are unaffected).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("HUB_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# Uploaded vendor invoices (integration_hub.ap); served only through the AP screen's permission check.
MEDIA_ROOT = Path(env_str("HUB_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
WHITENOISE_USE_FINDERS = True

# -- login throttling (django-axes): per user *and* IP, so one attacker cannot lock a colleague out
# from elsewhere, and a locked-out address may still sign in as somebody else ----------------------
HUB_LOGIN_FAILURE_LIMIT = env_int("HUB_LOGIN_FAILURE_LIMIT", 5, minimum=1)
HUB_LOGIN_COOLOFF_MINUTES = env_int("HUB_LOGIN_COOLOFF_MINUTES", 15, minimum=1)
AXES_FAILURE_LIMIT = HUB_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=HUB_LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The address the proxy saw, not the proxy's own (integration_hub.security.client_ip).
AXES_CLIENT_IP_CALLABLE = "integration_hub.security.client_ip"
# Attempts are rows in PostgreSQL (the default handler): every web process sees the same count.
# The hub's own `hub.security` line says who was locked out; axes' per-attempt lines stay quiet.
AXES_VERBOSE = False

# -- transport: production is secure by default; the embedded demo (HUB_SANDBOX) runs over http -----
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and X-Forwarded-For). Only then may
# those headers be trusted: anyone can send them to a hub that is reached directly.
HUB_BEHIND_TLS_PROXY = env_bool("HUB_BEHIND_TLS_PROXY", default=False)
if HUB_BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("HUB_SSL_REDIRECT", default=PRODUCTION)
# Load balancers and orchestrators probe the health check over plain http from inside.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("HUB_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HUB_HSTS_INCLUDE_SUBDOMAINS", default=True)
# The preload directive only matters once the domain is submitted to the browsers' preload list.
SECURE_HSTS_PRELOAD = env_bool("HUB_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Features no screen uses, refused for the page and anything it embeds (PermissionsPolicyMiddleware).
HUB_PERMISSIONS_POLICY = ("accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), "
                          "gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), usb=()")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads nothing from it; the token is rendered into hx-headers
SESSION_COOKIE_SECURE = env_bool("HUB_SECURE_COOKIES", default=PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

# -- Content-Security-Policy (django-csp 4): scripts and styles from the hub's own static files ----
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        # No inline script, no eval: htmx runs with allowEval off (base.html's htmx-config).
        "script-src": [SELF],
        # Style *attributes* carry data-driven widths and scores (dashboard bars, confidence
        # meters), so they are allowed; `<style>` elements and inline blocks are not (style-src-elem).
        # style-src keeps 'unsafe-inline' only as the fallback for browsers without the -attr/-elem
        # directives, where blocking the attributes would break those bars.
        "style-src": [SELF, UNSAFE_INLINE],
        "style-src-elem": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# -- the cache: badge counts, and the API throttles' counters, which every web process must share --
# `redis://…` (default: REDIS_URL), `locmem://` (one process), or unset without Redis: files under
# var/cache, shared by the processes of one machine.
HUB_CACHE_URL = env_str("HUB_CACHE_URL", env_str("REDIS_URL"))
CACHES: dict[str, dict[str, object]]
if HUB_CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": HUB_CACHE_URL,
                          "KEY_PREFIX": "hub"}}
elif HUB_CACHE_URL == "locmem://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif not HUB_CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache")}}
else:
    raise ImproperlyConfigured(f"HUB_CACHE_URL={HUB_CACHE_URL!r}: use redis://…, rediss://…, or locmem://")

# -- API throttling (DRF): generous enough that the demo and the suite never meet them -------------
HUB_API_USER_RATE = env_rate("HUB_API_USER_RATE", "1200/min")
HUB_API_ANON_RATE = env_rate("HUB_API_ANON_RATE", "60/min")
# Salesforce sends Outbound Messages in bursts from a few addresses: its own, higher budget.
HUB_WEBHOOK_RATE = env_rate("HUB_WEBHOOK_RATE", "6000/min")
# Vendor invoice files (accounts payable intake): larger uploads are refused before any parsing.
HUB_AP_MAX_UPLOAD_BYTES = env_int("HUB_AP_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, minimum=1024)
# Accounts payable's 3-way match (integration_hub.ap): an extracted field below this confidence goes
# to a person (ap_extraction_review); accepting a variance worth more than this amount (invoice
# currency) needs a second person (four-eyes); the default tolerances when no ApTolerance row applies
# (price: ± 2 % of the PO's net price per price unit; quantity: + 5 % of the received quantity).
HUB_AP_CONFIDENCE_THRESHOLD = env_float("HUB_AP_CONFIDENCE_THRESHOLD", 0.90, minimum=0.0)
HUB_AP_FOUR_EYES_AMOUNT = env_float("HUB_AP_FOUR_EYES_AMOUNT", 1000.0, minimum=0.0)
HUB_AP_PRICE_TOLERANCE_PERCENT = env_float("HUB_AP_PRICE_TOLERANCE_PERCENT", 2.0, minimum=0.0)
HUB_AP_QUANTITY_TOLERANCE_PERCENT = env_float("HUB_AP_QUANTITY_TOLERANCE_PERCENT", 5.0, minimum=0.0)
HUB_AP_RECEIPT_SWEEP_SECONDS = env_float("HUB_AP_RECEIPT_SWEEP_SECONDS", 300.0, minimum=5.0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"anon": HUB_API_ANON_RATE, "user": HUB_API_USER_RATE, "webhook": HUB_WEBHOOK_RATE},
    # Behind our proxy the client is the last X-Forwarded-For hop (the one it appended); otherwise
    # REMOTE_ADDR. Not None: DRF would then key on a client-written X-Forwarded-For, and a caller
    # rotating it would never be throttled.
    "NUM_PROXIES": 1 if HUB_BEHIND_TLS_PROXY else 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Integration hub API",
    "DESCRIPTION": "Handoffs from Salesforce closed-won deals to SAP S/4HANA sales orders.",
    "VERSION": "1.0.0",
    # Handoffs and approvals share the risk levels; one enum name in the schema.
    "ENUM_NAME_OVERRIDES": {"RiskLevelEnum": "integration_hub.models.RiskLevel",
                            # Crosswalk suggestions and alerts are about a product or an account.
                            "CrosswalkKindEnum": ["product", "account"]},
    # The schema maps every operation: for signed-in users only (anonymous gets 401).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # A read-only field an answer may leave out (a product component's `erp_target`, absent on S/4
    # components so their shape stays as it was) is not promised as required.
    "COMPONENT_NO_READ_ONLY_REQUIRED": True,
    # Every operation's 400/401/403/404/502/503 with the error body's shape (integration_hub.schema).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "integration_hub.schema.error_responses"],
}
# SAP or Salesforce down during a request: 503 (502 when it refused), never a 500.
REST_FRAMEWORK["EXCEPTION_HANDLER"] = "integration_hub.api_errors.exception_handler"

# -- Celery: Redis when REDIS_URL is set, otherwise a broker that needs no server --------------
REDIS_URL = env_str("REDIS_URL")
CELERY_TASK_TIME_LIMIT = env_int("HUB_TASK_TIME_LIMIT", 300, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 5
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object]
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Visibility timeout above the task time limit so a slow task is never handed out twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("HUB_BROKER_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT * 2,
                                      minimum=CELERY_TASK_TIME_LIMIT + 1)}
else:
    # The Celery app makes these folders (integration_hub.celery); every one of them lives under
    # var/, the control folder too (kombu's default is `control/` in the working directory).
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://"
    # kombu's filesystem transport with whole messages only (integration_hub/broker.py says why).
    CELERY_BROKER_TRANSPORT = "integration_hub.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # kombu looks again after this long when it found nothing — or could take nothing: with
        # acks_late and a prefetch of 1, a busy pool waits this long after each task (1 s by
        # default, which capped the demo at about one deal a second per worker process).
        "polling_interval": env_float("HUB_BROKER_POLL_SECONDS", 0.05, minimum=0.01),
    }
# Publishing gives up after about a second when the broker is down (integration_hub.dispatch):
# the row is the record of the work, and the sweepers send its wake-up again.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.3, "interval_max": 0.5}
HUB_BROKER_RETRY_SECONDS = env_float("HUB_BROKER_RETRY_SECONDS", 5.0, minimum=0.0)
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("HUB_BROKER_CONNECTION_TIMEOUT", 2.0, minimum=0.1)
# The longest wait a message may carry (never more than half the visibility timeout, dispatch.max_countdown).
HUB_MAX_COUNTDOWN_SECONDS = env_float("HUB_MAX_COUNTDOWN_SECONDS", 60.0, minimum=1.0)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Workers' PostgreSQL commits do not wait for the WAL to reach the disk (integration_hub/celery.py
# says why that loses nothing that cannot be re-derived); 1 makes them wait like the web's.
HUB_WORKER_SYNCHRONOUS_COMMIT = env_bool("HUB_WORKER_SYNCHRONOUS_COMMIT", False)
# Write-back flushes have a queue of their own, which every worker reads beside the default one
# (a worker started without -Q consumes all of CELERY_TASK_QUEUES, taking them in turn): in a burst
# the deals already created in the ERP reach the CRM at once instead of waiting behind every deal
# still to process — on Redis and on the embedded filesystem broker alike.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("celery"), Queue("writeback"))
CELERY_TASK_ROUTES = {"integration_hub.tasks.write_backs_flush": {"queue": "writeback"}}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# -- the sandboxes (HUB_SANDBOX): where they listen, their credentials --------------------------
SANDBOX_SALESFORCE_PORT = env_int("SANDBOX_SALESFORCE_PORT", 8701, minimum=1)
SANDBOX_SAP_PORT = env_int("SANDBOX_SAP_PORT", 8702, minimum=1)
SANDBOX_SALESFORCE_TOKEN = env_str("SANDBOX_SALESFORCE_TOKEN", "sandbox")
SANDBOX_SALESFORCE_ORG_ID = env_str("SANDBOX_SALESFORCE_ORG_ID", "00D000000000001EAA")
SANDBOX_SAP_USER = env_str("SANDBOX_SAP_USER", "sandbox")
SANDBOX_SAP_PASSWORD = env_str("SANDBOX_SAP_PASSWORD", "sandbox")
SANDBOX_WEBHOOK_SECRET = "sandbox"
# NetSuite: token-based authentication (OAuth 1.0a, HMAC-SHA256); realm = the account id in upper case.
SANDBOX_NETSUITE_PORT = env_int("SANDBOX_NETSUITE_PORT", 8703, minimum=1)
SANDBOX_NETSUITE_ACCOUNT = env_str("SANDBOX_NETSUITE_ACCOUNT", "SANDBOX")
SANDBOX_NETSUITE_CONSUMER_KEY = env_str("SANDBOX_NETSUITE_CONSUMER_KEY", "sandbox")
SANDBOX_NETSUITE_CONSUMER_SECRET = env_str("SANDBOX_NETSUITE_CONSUMER_SECRET", "sandbox")
SANDBOX_NETSUITE_TOKEN_ID = env_str("SANDBOX_NETSUITE_TOKEN_ID", "sandbox")
SANDBOX_NETSUITE_TOKEN_SECRET = env_str("SANDBOX_NETSUITE_TOKEN_SECRET", "sandbox")
# Requests one account may have in flight at once (a developer account's limit); more get 429.
SANDBOX_NETSUITE_CONCURRENCY = env_int("SANDBOX_NETSUITE_CONCURRENCY", 5, minimum=1)
# How far an oauth_timestamp may be from the sandbox's clock, in seconds.
SANDBOX_NETSUITE_TIMESTAMP_WINDOW = env_int("SANDBOX_NETSUITE_TIMESTAMP_WINDOW", 300, minimum=1)
# Where the Salesforce sandbox posts Outbound Messages (the hub's webhook).
SANDBOX_OUTBOUND_MESSAGE_URL = env_str(
    "SANDBOX_OUTBOUND_MESSAGE_URL",
    f"http://127.0.0.1:8000/api/v1/hooks/salesforce/outbound-message/?token={SANDBOX_WEBHOOK_SECRET}",
)
# Seconds before the first Outbound Message retry; doubles per attempt, capped at 2 h like Salesforce.
SANDBOX_OUTBOUND_BACKOFF = env_float("SANDBOX_OUTBOUND_BACKOFF", 2.0, minimum=0.01)
# How often the sandbox looks for Outbound Messages to send (Salesforce sends within seconds).
SANDBOX_OUTBOUND_POLL_SECONDS = env_float("SANDBOX_OUTBOUND_POLL_SECONDS", 0.25, minimum=0.01)


def _sandbox_default(value: str) -> str:
    """A connector default that points at a sandbox: only with HUB_SANDBOX on, empty otherwise."""
    return value if HUB_SANDBOX else ""


# -- Salesforce: a real org, or the sandbox by default when HUB_SANDBOX is on ------------------
SALESFORCE_INSTANCE_URL = env_str(
    "SALESFORCE_INSTANCE_URL", _sandbox_default(f"http://127.0.0.1:{SANDBOX_SALESFORCE_PORT}")
)
SALESFORCE_API_VERSION = env_str("SALESFORCE_API_VERSION", "59.0")
SALESFORCE_ORG_ID = env_str("SALESFORCE_ORG_ID", _sandbox_default(SANDBOX_SALESFORCE_ORG_ID))
# Auth for a real org: JWT bearer (preferred) or username/password+security token.
SALESFORCE_SESSION_ID = env_str("SALESFORCE_SESSION_ID", _sandbox_default(SANDBOX_SALESFORCE_TOKEN))
SALESFORCE_USERNAME = env_str("SALESFORCE_USERNAME")
SALESFORCE_PASSWORD = env_str("SALESFORCE_PASSWORD")
SALESFORCE_SECURITY_TOKEN = env_str("SALESFORCE_SECURITY_TOKEN")
SALESFORCE_CONSUMER_KEY = env_str("SALESFORCE_CONSUMER_KEY")
SALESFORCE_PRIVATE_KEY_FILE = env_str("SALESFORCE_PRIVATE_KEY_FILE")
SALESFORCE_DOMAIN = env_str("SALESFORCE_DOMAIN", "login")
SALESFORCE_TIMEOUT = env_float("SALESFORCE_TIMEOUT", 15.0, minimum=0.1)

# -- SAP S/4HANA: a real tenant, or the sandbox by default when HUB_SANDBOX is on --------------
SAP_BASE_URL = env_str(
    "SAP_BASE_URL", _sandbox_default(f"http://127.0.0.1:{SANDBOX_SAP_PORT}/sap/opu/odata/sap/")
)
SAP_USER = env_str("SAP_USER", _sandbox_default(SANDBOX_SAP_USER))
SAP_PASSWORD = env_str("SAP_PASSWORD", _sandbox_default(SANDBOX_SAP_PASSWORD))
SAP_CLIENT = env_str("SAP_CLIENT")  # sap-client; only on-premise / private cloud need it
SAP_TIMEOUT = env_float("SAP_TIMEOUT", 15.0, minimum=0.1)
SAP_SALES_ORGANIZATION = env_str("SAP_SALES_ORGANIZATION", "1710")
SAP_DISTRIBUTION_CHANNEL = env_str("SAP_DISTRIBUTION_CHANNEL", "10")
SAP_DIVISION = env_str("SAP_DIVISION", "00")

# -- NetSuite (SuiteTalk REST, token-based authentication): a real account, or the sandbox ----
NETSUITE_ACCOUNT = env_str("NETSUITE_ACCOUNT", _sandbox_default(SANDBOX_NETSUITE_ACCOUNT))
# Blank for a real account: https://<account>.suitetalk.api.netsuite.com is derived from it.
NETSUITE_BASE_URL = env_str("NETSUITE_BASE_URL", _sandbox_default(f"http://127.0.0.1:{SANDBOX_NETSUITE_PORT}"))
NETSUITE_CONSUMER_KEY = env_str("NETSUITE_CONSUMER_KEY", _sandbox_default(SANDBOX_NETSUITE_CONSUMER_KEY))
NETSUITE_CONSUMER_SECRET = env_str("NETSUITE_CONSUMER_SECRET", _sandbox_default(SANDBOX_NETSUITE_CONSUMER_SECRET))
NETSUITE_TOKEN_ID = env_str("NETSUITE_TOKEN_ID", _sandbox_default(SANDBOX_NETSUITE_TOKEN_ID))
NETSUITE_TOKEN_SECRET = env_str("NETSUITE_TOKEN_SECRET", _sandbox_default(SANDBOX_NETSUITE_TOKEN_SECRET))
NETSUITE_TIMEOUT = env_float("NETSUITE_TIMEOUT", 15.0, minimum=0.1)
# The subsidiary orders are booked in when the customer names none.
NETSUITE_SUBSIDIARY = env_str("NETSUITE_SUBSIDIARY", "2" if HUB_SANDBOX else "1")

# Which ERP a deal goes to when neither the Opportunity (ERP_Target__c) nor an ERP-target rule says.
HUB_DEFAULT_ERP_TARGET = env_choice("HUB_DEFAULT_ERP_TARGET", "s4hana", ("s4hana", "netsuite"))

# `/metrics` (Prometheus) answers 404 until a token is set; then it wants `Authorization: Bearer <token>`.
HUB_METRICS_TOKEN = env_str("HUB_METRICS_TOKEN")

# Empty (webhook answers 403) until set, unless the sandbox's Outbound Messages need it.
HUB_WEBHOOK_SECRET = env_str("HUB_WEBHOOK_SECRET", _sandbox_default(SANDBOX_WEBHOOK_SECRET))

# -- production refuses to start on embedded values ---------------------------------------------
# Values that are someone else's: the embedded key, the sandbox secret, .env.example's placeholder.
_NOT_SECRETS = {"", EMBEDDED_SECRET_KEY, SANDBOX_WEBHOOK_SECRET, "change-me"}


def _production_missing() -> list[str]:
    """What production (DJANGO_DEBUG and HUB_SANDBOX off) lacks to talk to real systems safely."""
    missing: list[str] = []
    if SECRET_KEY in _NOT_SECRETS:
        missing.append("DJANGO_SECRET_KEY (a real key, not the embedded default)")
    # Without the org id the webhook refuses every Outbound Message.
    missing += [name for name, value in (("SALESFORCE_INSTANCE_URL", SALESFORCE_INSTANCE_URL),
                                         ("SALESFORCE_ORG_ID", SALESFORCE_ORG_ID)) if not value]
    jwt = SALESFORCE_USERNAME and SALESFORCE_CONSUMER_KEY and SALESFORCE_PRIVATE_KEY_FILE
    password = SALESFORCE_USERNAME and SALESFORCE_PASSWORD
    if not (jwt or password or SALESFORCE_SESSION_ID):
        missing.append("Salesforce credentials (SALESFORCE_USERNAME + SALESFORCE_CONSUMER_KEY + "
                       "SALESFORCE_PRIVATE_KEY_FILE, or SALESFORCE_USERNAME + SALESFORCE_PASSWORD)")
    missing += [name for name, value in (("SAP_BASE_URL", SAP_BASE_URL), ("SAP_USER", SAP_USER),
                                         ("SAP_PASSWORD", SAP_PASSWORD)) if not value]
    # NetSuite is optional: once any of its settings is given (or it is the default target), all are needed.
    netsuite = (("NETSUITE_ACCOUNT", NETSUITE_ACCOUNT), ("NETSUITE_CONSUMER_KEY", NETSUITE_CONSUMER_KEY),
                ("NETSUITE_CONSUMER_SECRET", NETSUITE_CONSUMER_SECRET), ("NETSUITE_TOKEN_ID", NETSUITE_TOKEN_ID),
                ("NETSUITE_TOKEN_SECRET", NETSUITE_TOKEN_SECRET))
    if HUB_DEFAULT_ERP_TARGET == "netsuite" or any(value for _name, value in netsuite):
        missing += [name for name, value in netsuite if not value]
    if HUB_WEBHOOK_SECRET in _NOT_SECRETS:
        missing.append("HUB_WEBHOOK_SECRET")
    if HUB_METRICS_TOKEN and HUB_METRICS_TOKEN in _NOT_SECRETS:
        missing.append("HUB_METRICS_TOKEN (a real token, or unset to keep /metrics off)")
    return missing


if PRODUCTION:
    _missing = _production_missing()
    if _missing:
        raise ImproperlyConfigured(
            "production (DJANGO_DEBUG and HUB_SANDBOX off) needs " + "; ".join(_missing)
            + ". Set them (see .env.example), or HUB_SANDBOX=1 to run on the local sandboxes"
            " (DJANGO_DEBUG=1 for development)."
        )
elif HUB_REQUIRE_SECRET_KEY and not DEBUG and SECRET_KEY == EMBEDDED_SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("HUB_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "pyodata": {"level": "WARNING"},
        "hub.security": {"level": "INFO"},
        # axes notes every sign-in at INFO; the lockouts that matter are hub.security's lines.
        "axes": {"level": "WARNING"},
    },
}

# -- the handoff pipeline -----------------------------------------------------------------------
HUB_BACKOFF_BASE_SECONDS = env_float("HUB_BACKOFF_BASE_SECONDS", 2.0, minimum=0.0)
HUB_BACKOFF_CAP_SECONDS = env_float("HUB_BACKOFF_CAP_SECONDS", 300.0, minimum=0.0)
HUB_LOCK_WAIT_SECONDS = env_float("HUB_LOCK_WAIT_SECONDS", 5.0, minimum=0.0)
# A claim older than this belongs to a dead worker; the sweeper hands the row to another one.
HUB_CLAIM_LEASE_SECONDS = env_int("HUB_CLAIM_LEASE_SECONDS", CELERY_TASK_TIME_LIMIT + 30, minimum=1)
if max(SAP_TIMEOUT, SALESFORCE_TIMEOUT) >= HUB_CLAIM_LEASE_SECONDS:
    # Otherwise a second worker could look an order up while the dead one's create is in flight.
    raise ImproperlyConfigured("HUB_CLAIM_LEASE_SECONDS must exceed SAP_TIMEOUT and SALESFORCE_TIMEOUT")
# Circuit breaker per ERP target (integration_hub.breaker): failures in a row that open it, and the
# cool-down before one probe may call again (doubling per failed probe, up to the maximum).
HUB_BREAKER_FAILURE_THRESHOLD = env_int("HUB_BREAKER_FAILURE_THRESHOLD", 5, minimum=1)
HUB_BREAKER_COOLDOWN_SECONDS = env_float("HUB_BREAKER_COOLDOWN_SECONDS", 30.0, minimum=0.5)
HUB_BREAKER_COOLDOWN_MAX_SECONDS = env_float("HUB_BREAKER_COOLDOWN_MAX_SECONDS", 300.0, minimum=1.0)
HUB_SAP_CREATE_MAX_FAILURES = env_int("HUB_SAP_CREATE_MAX_FAILURES", 3, minimum=1)
# Reads and write-backs keep retrying with backoff this many times before the handoff fails.
HUB_MAX_TRANSIENT_FAILURES = env_int("HUB_MAX_TRANSIENT_FAILURES", 8, minimum=1)
HUB_POLL_INTERVAL_SECONDS = env_float("HUB_POLL_INTERVAL_SECONDS", 10.0, minimum=0.5)
# ERP -> CRM status (integration_hub.backflow): how often order, invoice, payment and credit
# changes are read from each ERP and written to Salesforce.
HUB_ERP_STATUS_POLL_SECONDS = env_float("HUB_ERP_STATUS_POLL_SECONDS", 30.0, minimum=1.0)
HUB_SWEEP_INTERVAL_SECONDS = env_float("HUB_SWEEP_INTERVAL_SECONDS", 15.0, minimum=0.5)
# The sweeper leaves rows alone this long after their last change: their own message may still come.
HUB_SWEEP_GRACE_SECONDS = env_float("HUB_SWEEP_GRACE_SECONDS", 30.0, minimum=0.0)
# Stages that sync ("Closed Won", or a configured ready-for-finance stage); IsWon always counts.
HUB_CLOSED_WON_STAGES = env_list("HUB_CLOSED_WON_STAGES", ["Closed Won"])
HUB_CRM_CURRENCY = env_str("HUB_CRM_CURRENCY", "USD")
HUB_DEFAULT_LEAD_TIME_DAYS = env_int("HUB_DEFAULT_LEAD_TIME_DAYS", 7, minimum=0)
# Thresholds of the exception catalogue (DESIGN.md).
HUB_CUSTOMER_MATCH_THRESHOLD = env_float("HUB_CUSTOMER_MATCH_THRESHOLD", 0.85, minimum=0.0)
HUB_PRODUCT_AUTO_THRESHOLD = env_float("HUB_PRODUCT_AUTO_THRESHOLD", 0.95, minimum=0.0)
HUB_ADDRESS_THRESHOLD = env_float("HUB_ADDRESS_THRESHOLD", 0.90, minimum=0.0)
HUB_PRICE_VARIANCE_PERCENT = env_float("HUB_PRICE_VARIANCE_PERCENT", 2.0, minimum=0.0)

# Valid SAP payment-terms keys (T052); SAP has no API for them, so the tenant's list lives here.
HUB_SAP_PAYMENT_TERMS_KEYS = env_list("HUB_SAP_PAYMENT_TERMS_KEYS", ["0001", "0002", "0003", "0004", "NT30", "NT45",
                                                                    "NT60", "NT90"])

# The ERP master-data cache (integration_hub.erp.cache), shared by all workers through the Django
# cache: seconds an entry may live, per kind (0 turns a kind off), and how often the beat re-reads
# what the deals in flight need.
HUB_ERP_CACHE_SECONDS = {
    "customer": env_int("HUB_ERP_CACHE_CUSTOMER_SECONDS", 900, minimum=0),
    "material": env_int("HUB_ERP_CACHE_MATERIAL_SECONDS", 3600, minimum=0),
    "credit": env_int("HUB_ERP_CACHE_CREDIT_SECONDS", 120, minimum=0),
    "receivables": env_int("HUB_ERP_CACHE_CREDIT_SECONDS", 120, minimum=0),
    "history": env_int("HUB_ERP_CACHE_HISTORY_SECONDS", 600, minimum=0),
}
HUB_ERP_CACHE_REFRESH_SECONDS = env_float("HUB_ERP_CACHE_REFRESH_SECONDS", 60.0, minimum=5.0)
# Small tables every deal reads (risk thresholds, units, currencies, payment terms, tax rules), from
# the same cache: dropped on any edit, and at most this old after a raw database change (0: off).
HUB_SNAPSHOT_SECONDS = env_int("HUB_SNAPSHOT_SECONDS", 60, minimum=0)
# An SAP service's $metadata (its property types), shared by every worker process through the cache
# for this long: a new process does not fetch it again (0: each process fetches its own).
HUB_SAP_METADATA_SECONDS = env_int("HUB_SAP_METADATA_SECONDS", 3600, minimum=0)
# Write-backs of created deals wait this long and go to Salesforce together (composite/sobjects, 200
# a call): in a burst, fewer than one call per deal — at 5 deals/s a second's wait makes one call of
# five (0.25 s made nearly one call a deal). The order itself is not delayed, only the CRM's news of
# it. 0 writes each deal back on its own at once.
HUB_WRITEBACK_LINGER_SECONDS = env_float("HUB_WRITEBACK_LINGER_SECONDS", 1.0, minimum=0.0)

# Reconciliation (integration_hub.reconciliation): how far an order's net may stray from the
# deal's amount, the default window in days, and when the nightly run starts (local time).
HUB_RECONCILIATION_TOLERANCE_PERCENT = env_float("HUB_RECONCILIATION_TOLERANCE_PERCENT", 0.5, minimum=0.0)
HUB_RECONCILIATION_DAYS = env_int("HUB_RECONCILIATION_DAYS", 30, minimum=1)
HUB_RECONCILIATION_HOUR = env_int("HUB_RECONCILIATION_HOUR", 2, minimum=0)
if HUB_RECONCILIATION_HOUR > 23:
    raise ImproperlyConfigured("HUB_RECONCILIATION_HOUR must be an hour of the day, 0 to 23")

CELERY_BEAT_SCHEDULE = {
    "reconcile-nightly": {"task": "integration_hub.tasks.reconciliation_nightly",
                          "schedule": crontab(hour=HUB_RECONCILIATION_HOUR, minute=15)},
    "poll-salesforce": {"task": "integration_hub.tasks.poll_salesforce", "schedule": HUB_POLL_INTERVAL_SECONDS},
    "sweep-handoffs": {"task": "integration_hub.tasks.sweep_handoffs", "schedule": HUB_SWEEP_INTERVAL_SECONDS},
    "poll-erp-statuses": {"task": "integration_hub.tasks.poll_erp_statuses", "schedule": HUB_ERP_STATUS_POLL_SECONDS},
    "refresh-erp-caches": {"task": "integration_hub.tasks.refresh_erp_caches",
                           "schedule": HUB_ERP_CACHE_REFRESH_SECONDS},
    "refresh-sap-caches": {"task": "crosswalks.tasks.refresh_sap_caches",
                           "schedule": env_float("HUB_SAP_CACHE_REFRESH_SECONDS", 300.0, minimum=10.0)},
}

# Risk-based approvals (issue 6): business hours of the intervention window and the approval SLA;
# band thresholds live in the database (approvals.RiskSettings) so admins can edit them.
APPROVALS_SWEEP_INTERVAL_SECONDS = env_float("APPROVALS_SWEEP_INTERVAL_SECONDS", 60.0, minimum=1.0)
CELERY_BEAT_SCHEDULE["approval-windows"] = {
    "task": "approvals.tasks.approval_windows_close", "schedule": APPROVALS_SWEEP_INTERVAL_SECONDS,
}
CELERY_BEAT_SCHEDULE["approval-sla"] = {
    "task": "approvals.tasks.approval_sla_escalate", "schedule": APPROVALS_SWEEP_INTERVAL_SECONDS,
}

# Exception triage (issue 4): escalation sweep, digest notifications, optional chat webhook.
HUB_ESCALATION_SWEEP_SECONDS = env_float("HUB_ESCALATION_SWEEP_SECONDS", 60.0, minimum=5.0)
HUB_CHAT_WEBHOOK_URL = env_str("HUB_CHAT_WEBHOOK_URL", "")
HUB_CHAT_WEBHOOK_TIMEOUT = env_float("HUB_CHAT_WEBHOOK_TIMEOUT", 3.0, minimum=0.1)
HUB_BASE_URL = env_str("HUB_BASE_URL", "")
# How often an open triage list asks for its rows again (new and resolved items, keeping the selection).
HUB_TRIAGE_REFRESH_SECONDS = env_float("HUB_TRIAGE_REFRESH_SECONDS", 10.0, minimum=1.0)
# Resolve and next: how long a list resolution waits (and can be undone) before it is applied.
HUB_UNDO_SECONDS = env_float("HUB_UNDO_SECONDS", 6.0, minimum=1.0)
# How often conditional snoozes are checked and held resolutions past their undo window applied.
HUB_SNOOZE_SWEEP_SECONDS = env_float("HUB_SNOOZE_SWEEP_SECONDS", 30.0, minimum=1.0)
CELERY_BEAT_SCHEDULE["triage-snooze-undo"] = {
    "task": "exceptions.tasks.snooze_sweep", "schedule": HUB_SNOOZE_SWEEP_SECONDS,
}
CELERY_BEAT_SCHEDULE["escalation-sweep"] = {
    "task": "exceptions.tasks.escalation_sweep", "schedule": HUB_ESCALATION_SWEEP_SECONDS,
}
CELERY_BEAT_SCHEDULE["ap-receipts-sweep"] = {
    "task": "integration_hub.ap.tasks.waiting_invoices_rematch", "schedule": HUB_AP_RECEIPT_SWEEP_SECONDS,
}
CELERY_BEAT_SCHEDULE["bulk-jobs-sweep"] = {"task": "exceptions.tasks.bulk_jobs_sweep", "schedule": 30.0}

# Email for assignment, escalation and approval digests: printed to the console until SMTP is set.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "integration-hub@localhost")
