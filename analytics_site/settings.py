"""Settings, read from environment variables (twelve-factor).

Every variable has a default that serves one development machine: SQLite, local-filesystem
storage, an in-process cache, a broker on 127.0.0.1:9092. The README lists them all.
"""

from pathlib import Path

import environ

from .secret_key import secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

# No default key: SECRET_KEY, or SECRET_KEY_FILE, or (DJANGO_DEV_MODE=1 only) a key generated
# once into var/secret-key. Without one the app refuses to start (analytics_site/secret_key.py).
DEV_MODE = env.bool("DJANGO_DEV_MODE", default=False)
SECRET_KEY = secret_key(
    env.str("SECRET_KEY", default=""),
    Path(env.str("SECRET_KEY_FILE", default=str(VAR_DIR / "secret-key"))),
    DEV_MODE,
)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "events",
    "schemas_admin",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "analytics_site.middleware.RefuseNulCharacters",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "analytics_site.middleware.BrowserSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "analytics_site.middleware.BrowserAuthenticationMiddleware",
    "analytics_site.middleware.BrowserMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "analytics_site.urls"
WSGI_APPLICATION = "analytics_site.wsgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves several processes (web workers, matcher, Celery). WAL lets
    # readers go on while one writes; IMMEDIATE transactions take the write lock when they
    # begin, so concurrent writers queue for up to the busy timeout instead of failing with
    # "database is locked" when a read lock cannot be upgraded.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            "transaction_mode": "IMMEDIATE",
            "timeout": env.float("SQLITE_BUSY_TIMEOUT_SECONDS", default=20.0),
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The rate limiter counts in this cache: use Redis (CACHE_URL=redis://...) when several web
# processes or hosts must share one count; the default counts per process.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")

# Files written by the platform (S3 sinks). Local folder by default; S3 when a bucket is set.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default=None)
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default=None)
STORAGES = {
    "default": (
        {"BACKEND": "storages.backends.s3.S3Storage"}
        if AWS_STORAGE_BUCKET_NAME
        else {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": env.path("MEDIA_ROOT", default=VAR_DIR / "media")},
        }
    ),
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND", default="whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "events.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Event analytics platform API",
    "DESCRIPTION": (
        "The collector (send analytics events as JSON; they land in Kafka once acknowledged) "
        "and the typed tracking code generated from the published contracts."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "events.schema.require_collector_body",
    ],
}

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_ALL_ORIGINS = env.bool("CORS_ALLOW_ALL_ORIGINS", default=False)
CORS_URLS_REGEX = r"^/api/v1/events$"
CORS_ALLOW_HEADERS = ["authorization", "content-type", "content-encoding", "x-api-key"]

# Kafka. Any librdkafka property can be passed as KAFKA_CLIENT_<PROPERTY>, dots written as
# underscores: KAFKA_CLIENT_SECURITY_PROTOCOL=SASL_SSL, KAFKA_CLIENT_SASL_MECHANISMS=PLAIN, ...
KAFKA_CLIENT_CONFIG = {
    "bootstrap.servers": env.str("KAFKA_BOOTSTRAP_SERVERS", default="127.0.0.1:9092"),
    **{
        name.removeprefix("KAFKA_CLIENT_").lower().replace("_", "."): value
        for name, value in env.ENVIRON.items()
        if name.startswith("KAFKA_CLIENT_")
    },
}
KAFKA_RAW_TOPIC = env.str("KAFKA_RAW_TOPIC", default="events.raw")
KAFKA_UNMATCHED_TOPIC = env.str("KAFKA_UNMATCHED_TOPIC", default="events.unmatched")
KAFKA_TOPIC_PARTITIONS = env.int("KAFKA_TOPIC_PARTITIONS", default=6)
# -1 takes the broker's default.replication.factor.
KAFKA_TOPIC_REPLICATION_FACTOR = env.int("KAFKA_TOPIC_REPLICATION_FACTOR", default=-1)
KAFKA_PRODUCER_LINGER_MS = env.int("KAFKA_PRODUCER_LINGER_MS", default=2)
# The largest record the platform writes (value, key and headers): Kafka's default
# max.message.bytes, less room for the record's framing.
KAFKA_MAX_RECORD_BYTES = env.int("KAFKA_MAX_RECORD_BYTES", default=1_000_000)

# Collector limits.
COLLECTOR_MAX_BATCH_SIZE = env.int("COLLECTOR_MAX_BATCH_SIZE", default=500)
COLLECTOR_MAX_BODY_BYTES = env.int("COLLECTOR_MAX_BODY_BYTES", default=5 * 1024 * 1024)
COLLECTOR_MAX_EVENT_BYTES = env.int("COLLECTOR_MAX_EVENT_BYTES", default=512 * 1024)
COLLECTOR_ACK_TIMEOUT_SECONDS = env.float("COLLECTOR_ACK_TIMEOUT_SECONDS", default=5.0)
COLLECTOR_RETRY_AFTER_SECONDS = env.int("COLLECTOR_RETRY_AFTER_SECONDS", default=5)
COLLECTOR_DEFAULT_RATE_LIMIT = env.str("COLLECTOR_DEFAULT_RATE_LIMIT", default="100/s")
# How long a web process trusts a key it verified; a revoked key works at most this long.
COLLECTOR_KEY_CACHE_SECONDS = env.float("COLLECTOR_KEY_CACHE_SECONDS", default=10.0)

# --- Abuse limits (analytics_site/ratelimit.py; docs/security.md) ----------------------------
# Failed authentication (unknown or revoked API keys, wrong passwords on the registry, the
# code-generation API and the login pages) per client address; beyond it, attempts are refused
# (429) without a database lookup until the window ends.
AUTH_FAILURE_RATE_LIMIT = env.str("AUTH_FAILURE_RATE_LIMIT", default="20/m")
# How long a web process skips the password hasher for a username and password it verified
# (registry and code-generation clients send them with every request). A changed password or
# a deactivated account takes effect at once all the same; 0 turns this off.
PASSWORD_CACHE_SECONDS = env.float("PASSWORD_CACHE_SECONDS", default=60.0)
AUTHENTICATION_BACKENDS = ["analytics_site.passwords.RememberingModelBackend"]
# Behind a reverse proxy: the header holding the client's address (its last entry is used).
CLIENT_ADDRESS_HEADER = env.str("CLIENT_ADDRESS_HEADER", default="")
# Registry reads and compatibility checks without credentials, per client address.
REGISTRY_READ_RATE_LIMIT = env.str("REGISTRY_READ_RATE_LIMIT", default="100/s")
# Require credentials (any active user, or the publisher) for registry reads too.
REGISTRY_REQUIRE_AUTH_FOR_READS = env.bool("REGISTRY_REQUIRE_AUTH_FOR_READS", default=False)

# Celery. The default broker keeps its queue in files under var/ so that one machine needs no
# extra server; production points CELERY_BROKER_URL at Redis (or RabbitMQ).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(VAR_DIR / "celery" / "queue"),
        "data_folder_out": str(VAR_DIR / "celery" / "queue"),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        # Exchange tables; kombu's default is ./control, in whatever folder the worker runs.
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL == "filesystem://"
    else {}
)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="django-db")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Contracts and the schema registry (schemas_admin). SITE_URL is where this app is reached;
# with SCHEMA_REGISTRY_URL empty, publishing goes to the built-in registry at SITE_URL/registry.
SITE_URL = env.str("SITE_URL", default=env.str("BASE_URL", default="http://127.0.0.1:8000"))
SCHEMA_REGISTRY_URL = env.str("SCHEMA_REGISTRY_URL", default="")
# "user:password" for an external registry; the built-in one needs none (see docs/contracts.md).
SCHEMA_REGISTRY_USER_INFO = env.str("SCHEMA_REGISTRY_USER_INFO", default="")
CONTRACTS_PUBLISH_MAX_RETRIES = env.int("CONTRACTS_PUBLISH_MAX_RETRIES", default=5)
CONTRACTS_PUBLISH_RETRY_SECONDS = env.float("CONTRACTS_PUBLISH_RETRY_SECONDS", default=10.0)
CONTRACTS_ANALYSTS_GROUP = env.str("CONTRACTS_ANALYSTS_GROUP", default="analysts")

# --- Matcher (run_matcher, replay_unmatched; docs/matcher.md) ---------------------------------
# Matchers sharing this consumer group share the raw topic's partitions.
MATCHER_CONSUMER_GROUP = env.str("MATCHER_CONSUMER_GROUP", default="matcher")
# Each process's transactional.id is "<prefix>-<instance>" (run_matcher --instance); a restarted
# instance reusing its id aborts what its predecessor left open.
MATCHER_TRANSACTIONAL_ID_PREFIX = env.str("MATCHER_TRANSACTIONAL_ID_PREFIX", default="matcher")
MATCHER_BATCH_SIZE = env.int("MATCHER_BATCH_SIZE", default=1000)  # raw records per transaction
MATCHER_BATCH_SECONDS = env.float("MATCHER_BATCH_SECONDS", default=0.5)  # max wait to fill one
MATCHER_SESSION_TIMEOUT_MS = env.int("MATCHER_SESSION_TIMEOUT_MS", default=10000)
MATCHER_TRANSACTION_TIMEOUT_MS = env.int("MATCHER_TRANSACTION_TIMEOUT_MS", default=60000)
# Match the next batch while the previous transaction commits (docs/matcher.md#overlapped-commits).
MATCHER_OVERLAP_COMMITS = env.bool("MATCHER_OVERLAP_COMMITS", default=True)
MATCHER_MAX_EVENT_BYTES = env.int("MATCHER_MAX_EVENT_BYTES", default=COLLECTOR_MAX_EVENT_BYTES)
MATCHER_CONTRACT_REFRESH_SECONDS = env.float("MATCHER_CONTRACT_REFRESH_SECONDS", default=2.0)
# Serve the matcher's Prometheus metrics on this port (0: only through PROMETHEUS_MULTIPROC_DIR).
MATCHER_METRICS_PORT = env.int("MATCHER_METRICS_PORT", default=0)
# Bounds of the unmatched-event records in the database.
UNMATCHED_MAX_GROUPS = env.int("UNMATCHED_MAX_GROUPS", default=1000)
UNMATCHED_SAMPLES_PER_GROUP = env.int("UNMATCHED_SAMPLES_PER_GROUP", default=20)
UNMATCHED_SAMPLE_MAX_BYTES = env.int("UNMATCHED_SAMPLE_MAX_BYTES", default=16 * 1024)
UNMATCHED_RETENTION_DAYS = env.int("UNMATCHED_RETENTION_DAYS", default=30)
# How often a matcher writes the unmatched events it collected to the database.
UNMATCHED_RECORD_SECONDS = env.float("UNMATCHED_RECORD_SECONDS", default=2.0)
REPLAY_BATCH_SIZE = env.int("REPLAY_BATCH_SIZE", default=500)
# Distinct (minute, event, version, reason, field, app, platform, app version) keys of traffic
# counts a matcher keeps between two writes; more are counted under an overflow key ("*").
TRAFFIC_MAX_KEYS = env.int("TRAFFIC_MAX_KEYS", default=20000)
CELERY_BEAT_SCHEDULE = {
    "purge-unmatched-events": {"task": "events.tasks.purge_unmatched", "schedule": 3600.0},
}

# --- Sinks (run_sink, athena_ddl; docs/sinks.md) ----------------------------------------------
# Files go to their own storage alias: the data lake usually lives in another bucket, with other
# permissions and lifecycle rules, than the app's own files. S3 (or any S3-compatible endpoint,
# AWS_S3_ENDPOINT_URL) when a bucket is set; else the local folder SINK_ROOT.
SINK_BUCKET = env.str("SINK_BUCKET", default=AWS_STORAGE_BUCKET_NAME)
SINK_PREFIX = env.str("SINK_PREFIX", default="").strip("/")
SINK_ROOT = env.path("SINK_ROOT", default=VAR_DIR / "lake")
STORAGES["sinks"] = (
    {
        "BACKEND": "events.sinks.storage.S3SinkStorage",
        "OPTIONS": {
            "bucket_name": SINK_BUCKET,
            "location": SINK_PREFIX,
            "endpoint_url": AWS_S3_ENDPOINT_URL,
            "region_name": AWS_S3_REGION_NAME,
        },
    }
    if SINK_BUCKET
    else {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(SINK_ROOT / SINK_PREFIX) if SINK_PREFIX else str(SINK_ROOT)},
    }
)
# Sinks of one kind sharing "<prefix>-<kind>" share its topics' partitions.
SINK_CONSUMER_GROUP_PREFIX = env.str("SINK_CONSUMER_GROUP_PREFIX", default="sink")
SINK_BATCH_SIZE = env.int("SINK_BATCH_SIZE", default=5000)
SINK_BATCH_SECONDS = env.float("SINK_BATCH_SECONDS", default=0.5)
SINK_SESSION_TIMEOUT_MS = env.int("SINK_SESSION_TIMEOUT_MS", default=10000)
# A file is closed and uploaded when it reaches any of these (production: 300-900 s, 128 MiB).
SINK_ROTATE_SECONDS = env.float("SINK_ROTATE_SECONDS", default=60.0)
SINK_ROTATE_RECORDS = env.int("SINK_ROTATE_RECORDS", default=1_000_000)
SINK_ROTATE_BYTES = env.int("SINK_ROTATE_BYTES", default=128 * 1024 * 1024)
SINK_MAX_OPEN_FILES = env.int("SINK_MAX_OPEN_FILES", default=16)  # per Kafka partition
SINK_MEMORY_BYTES = env.int("SINK_MEMORY_BYTES", default=512 * 1024 * 1024)  # per process
# Hive-style folders from the event time (UTC): strftime codes %Y %m %d %H.
SINK_PARTITION_FORMAT = env.str("SINK_PARTITION_FORMAT", default="dt=%Y-%m-%d/hour=%H")
# Deflate level of gzip JSON Lines and of Avro's deflate codec (1: fastest; 9: smallest).
SINK_GZIP_LEVEL = env.int("SINK_GZIP_LEVEL", default=3)
# Threads compressing file chunks beside the consumer loop; 0 compresses in the loop itself.
SINK_COMPRESSION_THREADS = env.int("SINK_COMPRESSION_THREADS", default=2)
SINK_AVRO_CODEC = env.str("SINK_AVRO_CODEC", default="deflate")  # deflate, snappy or null
SINK_PARQUET_COMPRESSION = env.str("SINK_PARQUET_COMPRESSION", default="snappy")
SINK_UPLOAD_CONCURRENCY = env.int("SINK_UPLOAD_CONCURRENCY", default=4)
SINK_UPLOAD_RETRY_SECONDS = env.float("SINK_UPLOAD_RETRY_SECONDS", default=60.0)
# The broker's offset.metadata.max.bytes: a sink's commit metadata stays below it.
SINK_OFFSET_METADATA_MAX_BYTES = env.int("SINK_OFFSET_METADATA_MAX_BYTES", default=4096)
SINK_CONTRACT_REFRESH_SECONDS = env.float("SINK_CONTRACT_REFRESH_SECONDS", default=10.0)
SINK_METRICS_PORT = env.int("SINK_METRICS_PORT", default=0)

# --- Dashboard (events.dashboard; docs/dashboard.md) ------------------------------------------
INSTALLED_APPS += ["django.contrib.humanize", "events.dashboard"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:overview"
LOGOUT_REDIRECT_URL = "login"
# Front-end libraries installed by npm (package.json), served like the apps' static files.
STATICFILES_DIRS = [
    ("vendor/uplot", BASE_DIR / "node_modules" / "uplot" / "dist"),
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
# Traffic counts: minutes are kept this many hours, then folded into hours; hours are kept this
# many days, then folded into days; days are deleted after the retention.
TRAFFIC_MINUTES_HOURS = env.int("TRAFFIC_MINUTES_HOURS", default=6)
TRAFFIC_HOURS_DAYS = env.int("TRAFFIC_HOURS_DAYS", default=7)
TRAFFIC_RETENTION_DAYS = env.int("TRAFFIC_RETENTION_DAYS", default=90)
TRAFFIC_ROLLUP_SECONDS = env.float("TRAFFIC_ROLLUP_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE["rollup-traffic"] = {
    "task": "events.dashboard.tasks.rollup_traffic",
    "schedule": TRAFFIC_ROLLUP_SECONDS,
}
# Alerts on the unmatched share: checked every ALERTS_CHECK_SECONDS by beat; email goes through
# EMAIL_URL (default: printed to the worker's console), e.g. smtp+tls://user:pass@host:587.
ALERTS_CHECK_SECONDS = env.float("ALERTS_CHECK_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE["check-alerts"] = {
    "task": "events.dashboard.tasks.check_alerts",
    "schedule": ALERTS_CHECK_SECONDS,
}
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="analytics@localhost")
