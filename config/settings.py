"""Valuegate settings: one module, read from the environment (README lists every variable)."""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG and env.bool("VALUEGATE_REQUIRE_SECRET_KEY", default=False):
        raise environ.ImproperlyConfigured("SECRET_KEY must be set in production.")
    # Development and test only: a fixed key so sessions survive restarts of `demo`.
    SECRET_KEY = "valuegate-development-key-not-for-production-" + "x" * 20  # noqa: S105
# Earlier keys, newest first: sessions signed and audit checkpoints keyed with them still verify.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_fsm",
    "django_celery_beat",
    "pgtrigger",
    "pghistory",
    "django_htmx",
    "axes",
    "csp",
    "measures",
    "incidents",
    "reviews",
    "reporting",
    "readcache",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Oversized bodies refused before anything reads them; 409 for deadlocks; Retry-After on 503.
    "config.requestlimits.RequestLimitsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "pghistory.middleware.HistoryMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "measures.context_processors.navigation",
            ],
        },
    },
]

# --- Database: PostgreSQL always; the embedded server when DATABASE_URL is unset (ADR 0002) ------
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    from config.embedded_pg import embedded_database_url

    DATABASES = {"default": env.db_url_config(embedded_database_url(BASE_DIR))}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections: seconds a worker keeps its connection (0 = one per request), checked before
# reuse. CONN_MAX_AGE is the earlier name, still honoured.
DATABASES["default"].setdefault(
    "CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=env.int("CONN_MAX_AGE", default=60))
)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker and cache; without it Celery runs eagerly in-process (ADR 0002) ----------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Fail-soft: while Redis is down the cache misses instead of raising (ADR 0012).
    CACHES = {
        "default": {
            "BACKEND": "config.cache.FailSoftRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = env.str("TIME_ZONE", default="UTC")

# --- Auth --------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "reporting:home"
LOGOUT_REDIRECT_URL = "login"
AXES_FAILURE_LIMIT = env.int("VALUEGATE_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Proxies in front of us that append to X-Forwarded-For: 0 trusts no forwarding header (a client
# could claim any address and escape throttles and lockouts); N takes the address N hops from the
# right. DRF's throttles (NUM_PROXIES) and axes' lockouts read the client address the same way.
VALUEGATE_TRUSTED_PROXIES = env.int("VALUEGATE_TRUSTED_PROXIES", default=0)
AXES_CLIENT_IP_CALLABLE = "config.requestlimits.client_address"

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en-gb")
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True

# --- Static and media --------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / ".valuegate" / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it; collectstatic fills it
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / ".valuegate" / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {
        "BACKEND": env.str("VALUEGATE_STORAGE", default="django.core.files.storage.FileSystemStorage")
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
VALUEGATE_MAX_UPLOAD_BYTES = env.int("VALUEGATE_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)

# --- E-mail ------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="valuegate@localhost")

# --- REST API (DESIGN §9) ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an unauthenticated client gets 401 with a WWW-Authenticate header.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.JSONParser",  # refuses deeply nested JSON with a 400
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "NUM_PROXIES": VALUEGATE_TRUSTED_PROXIES,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("VALUEGATE_THROTTLE_ANON", default="60/minute"),
        "user": env.str("VALUEGATE_THROTTLE_USER", default="2000/minute"),
        "login": env.str("VALUEGATE_THROTTLE_LOGIN", default="10/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Valuegate API",
    "DESCRIPTION": "Major incidents, post-incident reviews and governed improvement measures.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api.add_error_responses",
    ],
    # Several models have a field called "kind": each app adds names for its choice sets below.
    "ENUM_NAME_OVERRIDES": {
        "ReportKindEnum": "reporting.models.ReportKind",
        "NotificationKindEnum": "measures.choices.NotificationKind",
    },
}

# --- Security ----------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Sessions stay in the database only (not cached_db): the fail-soft cache of ADR 0012 drops writes
# while Redis is down, so a logout then would leave the old session readable from the cache later.
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and env.bool("VALUEGATE_HTTPS", default=False):
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

# --- Valuegate domain settings -----------------------------------------------------------------
VALUEGATE_CURRENCY = env.str("VALUEGATE_CURRENCY", default="EUR")
VALUEGATE_FISCAL_YEAR_START = env.int("VALUEGATE_FISCAL_YEAR_START", default=1)
# Effect values are accepted for months of the fiscal horizon: from the start of the fiscal year this
# many years back to the end of the fiscal year this many years ahead (DESIGN §5.2, ADR 0016).
VALUEGATE_HORIZON_YEARS_BACK = env.int("VALUEGATE_HORIZON_YEARS_BACK", default=5)
VALUEGATE_HORIZON_YEARS_AHEAD = env.int("VALUEGATE_HORIZON_YEARS_AHEAD", default=10)
VALUEGATE_CLOSURE_WINDOW_MONTHS = env.int("VALUEGATE_CLOSURE_WINDOW_MONTHS", default=3)

# --- Reporting ---------------------------------------------------------------------------------
# A renderer holds a run for this long and renews it every quarter of it while rendering; a run
# whose renderer died is claimed again once this has passed (ADR 0007).
VALUEGATE_REPORT_LEASE_SECONDS = env.int("VALUEGATE_REPORT_LEASE_SECONDS", default=60)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2

# --- Incidents ----------------------------------------------------------------------------------
# Response effort is costed at this rate per person-hour (DESIGN §6 incident cost), in VALUEGATE_CURRENCY.
VALUEGATE_INCIDENT_HOURLY_RATE = env.float("VALUEGATE_INCIDENT_HOURLY_RATE", default=85.0)
# Plausible event times (incidents.policy.check_event_times): not older than this many days, and
# not later than now plus this clock-skew allowance. Older history is refused as a typing error.
VALUEGATE_EVENT_MAX_AGE_DAYS = env.int("VALUEGATE_EVENT_MAX_AGE_DAYS", default=3650)
VALUEGATE_EVENT_CLOCK_SKEW_MINUTES = env.int("VALUEGATE_EVENT_CLOCK_SKEW_MINUTES", default=5)

# --- Measures ------------------------------------------------------------------------------------
# The effect-line account chart (DESIGN §5.2); codes, comma-separated.
VALUEGATE_EFFECT_ACCOUNTS = env.list(
    "VALUEGATE_EFFECT_ACCOUNTS", default=["pl_cost", "pl_revenue", "cash", "working_capital", "capex", "fte"]
)
# Days a critical milestone may be overdue before the implementation light turns red (DESIGN §5.3).
VALUEGATE_MILESTONE_RED_DAYS = env.int("VALUEGATE_MILESTONE_RED_DAYS", default=14)
# Distinct OpenAPI enum names for incident choices that share a field name with other apps' choices.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "CriterionKindEnum": "incidents.choices.CriterionKind",
        "TimelineEntryKindEnum": "incidents.choices.EntryKind",
        "StatusUpdateKindEnum": "incidents.choices.UpdateKind",
        "IncidentRoleEnum": "incidents.choices.RoleKind",
        "IncidentStateEnum": "incidents.choices.IncidentState",
        "UpdateStateEnum": "incidents.choices.UpdateState",
    }
)
# One OpenAPI enum name per choice set of the measures API (drf-spectacular warns on duplicates).
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "MeasureStageEnum": "measures.choices.Stage",
        "StatusLightEnum": "measures.choices.LIGHTS",
        "ScopeKindEnum": "measures.choices.ScopeKind",
        "DependencyKindEnum": "measures.choices.DependencyKind",
        "DocumentKindEnum": "measures.choices.DocumentKind",
    }
)

# --- Financial effects ---------------------------------------------------------------------------
# Stage weights (% of plan counted in the risk-weighted pipeline) for DoI 0-5 (DESIGN §5.2).
VALUEGATE_PIPELINE_WEIGHTS = env.list(
    "VALUEGATE_PIPELINE_WEIGHTS", default=["10", "25", "50", "75", "90", "100"]
)
# Potential light: how far (%) the in-year estimate may fall below plan and stay green (DESIGN §5.3);
# a program may set its own (Scope.potential_tolerance_percent).
VALUEGATE_POTENTIAL_TOLERANCE_PERCENT = env.int("VALUEGATE_POTENTIAL_TOLERANCE_PERCENT", default=5)
# Leakage: how far (%) a closed measure's validated run rate may fall below its closing run rate.
VALUEGATE_LEAKAGE_PERCENT = env.int("VALUEGATE_LEAKAGE_PERCENT", default=10)
# Largest CSV of effect values accepted in one upload.
VALUEGATE_EFFECT_IMPORT_MAX_ROWS = env.int("VALUEGATE_EFFECT_IMPORT_MAX_ROWS", default=5000)
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "EffectSeriesEnum": "measures.choices.Series",
        "ActualValidationStateEnum": "measures.choices.ValidationState",
        "RebaselineStateEnum": "measures.choices.RebaselineState",
    }
)

# --- Reviews -------------------------------------------------------------------------------------
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "ReviewStateEnum": "reviews.choices.ReviewState",
        "ActionKindEnum": "reviews.choices.ActionKind",
        "ActionStateEnum": "reviews.choices.ActionState",
        "ActionPriorityEnum": "reviews.choices.Priority",
        "ReviewApprovalRoleEnum": "reviews.choices.ApprovalRole",
    }
)
