"""S.M.I.L.E settings: one module, driven by ``SMILE_*`` environment variables.

With nothing set it runs embedded (DEBUG, SQLite, in-memory channel layer, console e-mail,
in-process inference). ``SMILE_DEBUG=0`` is production: it refuses to start without a real
secret key and host list, and turns on every HTTPS protection. ``.env.example`` lists all
variables with their defaults.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import ExponentialBackoff

from common.metrics import CountingRetry
from common.metrics import parse_address as parse_metrics_address
from smile_site import content_security
from smile_site.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("SMILE_DEBUG", True)

# --- Secrets and hosts -------------------------------------------------------------------

# Development only: production refuses this key (and any key that is short or repetitive).
_DEV_SECRET_KEY = "django-insecure-smile-development-only-never-use-in-production"  # noqa: S105
SECRET_KEY = env_str("SMILE_SECRET_KEY") or (_DEV_SECRET_KEY if DEBUG else "")
_weak_key = SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
if not DEBUG and _weak_key:
    raise ImproperlyConfigured(
        "SMILE_SECRET_KEY must be set to a random string of at least 50 characters when SMILE_DEBUG=0 "
        "(python -c 'import secrets; print(secrets.token_urlsafe(64))')"
    )

ALLOWED_HOSTS = env_list("SMILE_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("SMILE_ALLOWED_HOSTS must list the site's host names when SMILE_DEBUG=0")
CSRF_TRUSTED_ORIGINS = env_list("SMILE_CSRF_TRUSTED_ORIGINS")

# --- Applications ------------------------------------------------------------------------

INSTALLED_APPS = [
    "daphne",  # first: its runserver serves HTTP and WebSocket from one process
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "accounts",
    "moods",
    "inference",
]

MIDDLEWARE = [
    # First: it times, counts and logs every request under its id (smile_site/metrics.py).
    "smile_site.metrics.HttpMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "smile_site.middleware.PrivatePagesMiddleware",
    "accounts.middleware.UserTimeZoneMiddleware",
    "common.method_not_allowed.MethodNotAllowedPageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "smile_site.urls"
ASGI_APPLICATION = "smile_site.asgi.application"
WSGI_APPLICATION = None

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

# --- Data stores -------------------------------------------------------------------------

DATABASE_URL = env_str("SMILE_DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # A partitioned or frozen Postgres fails a connect within seconds instead of hanging
        # it (libpq waits forever by default); the whole handshake counts.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SMILE_SQLITE_PATH") or str(BASE_DIR / "db.sqlite3"),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("SMILE_REDIS_URL")
# channels_redis waits for a socket's next message with a 5 s BZPOPMIN; redis-py (8.x) gives up
# on any read after its default 5 s socket timeout, which crashed every socket idle for 5 s
# (closed 1011). The read timeout must outlast the blocking pop; a dead Redis is still noticed.
CHANNEL_LAYER_SOCKET_TIMEOUT = 15.0
# A restarted Redis (a deploy, a crash, compose's restart) dropped every socket's BZPOPMIN
# connection and redis-py, as channels_redis builds its pool, never retries: the consumer died
# and the socket closed 1011. The layer now reconnects and retries the command on a connection
# error or timeout, backing off 0.2, 0.4, 0.8 s then 1 s (10 tries, 8.4 s): a Redis back within
# that is a pause, not a closed socket. (redis-py retries the connect too, inside each command
# try: a Redis that stays down fails the socket after about a minute and a half.)
# Each retry counts in smile_channel_layer_retries_total (common/metrics.py).
CHANNEL_LAYER_RETRY = CountingRetry(ExponentialBackoff(cap=1.0, base=0.1), retries=10)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "smile_site.channel_layer.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT,
                        "socket_connect_timeout": 5.0,
                        "health_check_interval": 30,
                        "retry": CHANNEL_LAYER_RETRY,
                    }
                ],
                "capacity": 1000,
                "expiry": 30,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The cache holds rate-limit counters, so every web process must share it in production.
# Its commands are single round trips: a Redis that stops answering fails a request in 2 s
# (an error page) rather than holding it for redis-py's default, which changed between releases.
CACHE_SOCKET_TIMEOUT = 2.0
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_timeout": CACHE_SOCKET_TIMEOUT, "socket_connect_timeout": CACHE_SOCKET_TIMEOUT},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery reads every CELERY_* setting (smile_site/celery.py). Without Redis there is no
# broker: the embedded mode runs inference in a thread pool instead of Celery tasks.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# The stream's frames travel as raw bytes in msgpack (never pickle); everything else is JSON.
CELERY_ACCEPT_CONTENT = ["json", "msgpack"]
# The queue the inference workers consume (docker-compose.yml: `worker -Q inference`).
SMILE_INFERENCE_QUEUE = "inference"
CELERY_TASK_ROUTES = {"inference.stream_frames": {"queue": SMILE_INFERENCE_QUEUE}}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# kombu's Redis transport emulates acknowledgements by copying every message it delivers into
# an ``unacked`` hash (deleted on ack) so that a dead worker's messages can be restored after a
# visibility timeout. For a frame that is all cost (13% of a worker's CPU in the profile) and no
# use: it expires in 5 s and its socket is answered long before any restore, while the copy is
# a frame held in Redis. Off, a worker takes a message off Redis at once, and a dead worker's
# frames die with it (answered as timed out); housekeeping tasks run again on their schedule.
CELERY_BROKER_TRANSPORT_OPTIONS = {"ack_emulation": False}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Periodic clean-up, run by `celery -A smile_site beat` in production.
CELERY_BEAT_SCHEDULE = {
    "purge-expired-pairings": {"task": "accounts.purge_expired_pairings", "schedule": 3600.0},
    "clear-expired-sessions": {"task": "accounts.clear_expired_sessions", "schedule": 86400.0},
}

# --- Accounts ----------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3

# --- E-mail ------------------------------------------------------------------------------

EMAIL_HOST = env_str("SMILE_EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("SMILE_EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("SMILE_EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("SMILE_EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("SMILE_EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("SMILE_DEFAULT_FROM_EMAIL", "S.M.I.L.E <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalisation ----------------------------------------------------------------

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# One 24-hour clock on every page, Django's own formats included (smile_site/formats/en/formats.py).
FORMAT_MODULE_PATH = ["smile_site.formats"]

# --- Static files ------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("SMILE_STATIC_ROOT") or BASE_DIR / "staticfiles")
# extension/lib/ is served too: the live check-in page speaks the stream protocol through the
# extension's own tested client (/static/extension-lib/protocol.js), not a second copy.
STATICFILES_DIRS = [BASE_DIR / "static", ("extension-lib", BASE_DIR / "extension" / "lib")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names in production let nginx cache static files for a year.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
    },
}

# --- HTTPS and browser protections (production) ------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
# Every mode, every page (django-csp; DEBUG's own error pages aside): one policy, shared with nginx.
CONTENT_SECURITY_POLICY = {"DIRECTIVES": content_security.DIRECTIVES}
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    # nginx terminates TLS and overwrites X-Forwarded-Proto; daphne trusts it with --proxy-headers.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SMILE_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SMILE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # /healthz is probed over plain HTTP inside the private network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Logging -----------------------------------------------------------------------------

# One JSON object per line on stdout, for every process: daphne, runserver, Celery (its
# setup_logging signal hands it this config: smile_site/celery.py), management commands.
# SMILE_LOG_FORMAT=plain: the same lines as text, for a person reading a terminal.
LOG_FORMAT = env_str("SMILE_LOG_FORMAT", "json").lower()
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"SMILE_LOG_FORMAT must be 'json' or 'plain', got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "common.jsonlog.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": env_str("SMILE_LOG_LEVEL", "INFO").upper()},
    # runserver's access log names the client's address and the path; smile_site.metrics logs
    # every request by route instead.
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

# --- S.M.I.L.E ---------------------------------------------------------------------------

# Where this process serves Prometheus's /metrics ("host:port", internal only; empty: nowhere).
# The embedded mode (SMILE_DEBUG=1) also answers /metrics on the site. docs/operations.md.
SMILE_METRICS_ADDRESS = env_str("SMILE_METRICS_ADDRESS")
if SMILE_METRICS_ADDRESS:
    try:
        parse_metrics_address(SMILE_METRICS_ADDRESS)
    except ValueError as exc:
        raise ImproperlyConfigured(f"SMILE_METRICS_ADDRESS: {exc}") from exc
SMILE_MAX_FRAME_BYTES = env_int("SMILE_MAX_FRAME_BYTES", 262_144, minimum=1024)
SMILE_MAX_FRAME_WIDTH = env_int("SMILE_MAX_FRAME_WIDTH", 1920, minimum=48)
SMILE_MAX_FRAME_HEIGHT = env_int("SMILE_MAX_FRAME_HEIGHT", 1080, minimum=48)
# Pairing (RFC 8628 device flow): how long a code lives and the first poll interval.
SMILE_PAIRING_EXPIRES_SECONDS = env_int("SMILE_PAIRING_EXPIRES_SECONDS", 600, minimum=60)
SMILE_PAIRING_INTERVAL_SECONDS = env_int("SMILE_PAIRING_INTERVAL_SECONDS", 5, minimum=1)
# WebSocket origins allowed on /ws/stream/ (exact strings): the site's own, and the
# extension's chrome-extension://<id> for each id.
SMILE_SITE_ORIGINS = env_list(
    "SMILE_SITE_ORIGINS",
    ["http://127.0.0.1:8000", "http://localhost:8000"]
    if DEBUG
    else [f"https://{host}" for host in ALLOWED_HOSTS if not host.startswith(".") and host != "*"],
)
# The embedded default also accepts the site's own origin wherever it is served: an origin on
# the request's own Host, which ALLOWED_HOSTS names (common/origins.py). Production: the list
# only, whatever the variable says; development may switch it off to try the exact list.
SMILE_SAME_HOST_ORIGIN = DEBUG and env_bool("SMILE_SAME_HOST_ORIGIN", True)
# The development id comes from the public key in extension/manifest.json (docs/extension.md);
# production sets the Chrome Web Store's id.
SMILE_DEVELOPMENT_EXTENSION_ID = "hegedbgeijbcncfgmagcecgjpokgacgi"
SMILE_EXTENSION_IDS = env_list("SMILE_EXTENSION_IDS", [SMILE_DEVELOPMENT_EXTENSION_ID] if DEBUG else [])
# Stream limits announced in the "ready" message.
SMILE_MAX_FPS = env_int("SMILE_MAX_FPS", 2, minimum=1)
SMILE_MAX_IN_FLIGHT = env_int("SMILE_MAX_IN_FLIGHT", 2, minimum=1)
# The stream: mood window length; where inference runs ("thread" in-process, "celery" workers;
# empty = celery when Redis is set); threads that score frames in one process (the web process in
# embedded mode, each worker process in Celery mode); frames held per web process before
# refusing (busy); most frames per task and per network call on a worker; how long a web process
# waits for more frames to send in one task with the first (ms); windows kept while the DB is down.
SMILE_WINDOW_SECONDS = env_int("SMILE_WINDOW_SECONDS", 60, minimum=5)
SMILE_INFERENCE_EXECUTOR = env_str("SMILE_INFERENCE_EXECUTOR")
SMILE_INFERENCE_THREADS = env_int("SMILE_INFERENCE_THREADS", 2, minimum=1)
SMILE_INFERENCE_MAX_PENDING = env_int("SMILE_INFERENCE_MAX_PENDING", 32, minimum=1)
SMILE_INFERENCE_BATCH_SIZE = env_int("SMILE_INFERENCE_BATCH_SIZE", 16, minimum=1)
SMILE_INFERENCE_PUBLISH_LINGER_MS = env_int("SMILE_INFERENCE_PUBLISH_LINGER_MS", 20, minimum=0)
SMILE_PENDING_WINDOWS = env_int("SMILE_PENDING_WINDOWS", 1000, minimum=1)
# Calibrating to the resting face (moods.stream.calibration): how long it watches, how many faces it needs.
SMILE_CALIBRATION_SECONDS = env_int("SMILE_CALIBRATION_SECONDS", 20, minimum=3)
SMILE_CALIBRATION_MIN_FACES = env_int("SMILE_CALIBRATION_MIN_FACES", 10, minimum=2)
# An open socket re-checks its device (revoked?) and account (disabled?) this often, in case
# the revocation's channel-layer message was lost.
SMILE_DEVICE_RECHECK_SECONDS = env_int("SMILE_DEVICE_RECHECK_SECONDS", 30, minimum=1)
# Whether the Devices page offers "Read on this computer" (private mode, docs/protocol.md). The
# stream and the extension's API support it either way; turn it off while users still run an
# extension older than private mode (its camera stays off in private mode, and it says why).
SMILE_PRIVATE_MODE_OFFERED = env_bool("SMILE_PRIVATE_MODE_OFFERED", True)
# Rate-limit overrides, "name=hits/seconds,..." (names and defaults in accounts/conf.py).
SMILE_RATE_LIMITS = dict(item.split("=", 1) for item in env_list("SMILE_RATE_LIMITS") if "=" in item)
if len(SMILE_RATE_LIMITS) != len(env_list("SMILE_RATE_LIMITS")):
    raise ImproperlyConfigured("SMILE_RATE_LIMITS must look like 'login-ip=100/900,signup-ip=20/3600'")
# The served model (LiteRT); Keras .weights.h5 still load, through TensorFlow.
SMILE_EMOTION_WEIGHTS = env_str("SMILE_EMOTION_WEIGHTS") or str(
    BASE_DIR / "inference" / "weights" / "emotion_model.tflite"
)
