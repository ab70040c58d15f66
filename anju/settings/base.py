"""Settings shared by every environment. Everything an operator may change reads the environment
(see docs/configuration.md); nothing secret lives here."""

from pathlib import Path

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from .env import env_bool, env_int, env_list, env_path, env_str

PROJECT_DIR = Path(__file__).resolve().parent.parent
BASE_DIR = PROJECT_DIR.parent
DATA_DIR = env_path("ANJU_DATA_DIR", BASE_DIR / "var")

# A development key; production.py refuses to start with it (see anju.core.checks).
INSECURE_DEFAULT_SECRET_KEY = "anju-insecure-development-key-never-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", INSECURE_DEFAULT_SECRET_KEY)
# Keys for data at rest: encryption of ID numbers and the keyed hash that finds them.
# Derived from SECRET_KEY unless set, so a fresh install works; production sets its own.
FIELD_ENCRYPTION_KEY = env_str("ANJU_FIELD_ENCRYPTION_KEY", "")
LOOKUP_HASH_KEY = env_str("ANJU_LOOKUP_HASH_KEY", "")

DEBUG = env_bool("ANJU_DEBUG", False)
ALLOWED_HOSTS = env_list("ANJU_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("ANJU_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "rules.apps.AutodiscoverRulesConfig",
    "auditlog",
    "axes",
    "django_htmx",
    "django_tasks_db",
    "crontask",
    "anju.core",
    "anju.accounts",
    "anju.customers",
    "anju.property",
    "anju.leads",
    "anju.sales",
    "anju.aftersales",
    "anju.portal",
    "anju.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "anju.web.middleware.AnjuLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "anju.accounts.middleware.SessionTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "anju.urls"
WSGI_APPLICATION = "anju.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PROJECT_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "anju.web.context_processors.shell",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'anju.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE: a writer takes the lock at BEGIN, so two writers queue instead of
        # failing half-way with "database is locked" on the upgrade from a read lock.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA foreign_keys=ON;"
            "PRAGMA busy_timeout=20000;"
            "PRAGMA cache_size=-65536;"
        ),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, sessions -----------------------------------------------------------------------
REDIS_URL = env_str("ANJU_REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- background work ------------------------------------------------------------------------
TASK_BACKEND = env_str("ANJU_TASK_BACKEND", "db")
if TASK_BACKEND == "rq":
    if not REDIS_URL:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("ANJU_TASK_BACKEND=rq needs ANJU_REDIS_URL")
    INSTALLED_APPS += ["django_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600}}
    CRONTASK = {"REDIS_URL": REDIS_URL}
elif TASK_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "anju.accounts.backends.ModelWithRoleBackend",
    # sessions opened before ModelWithRoleBackend name this one
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout after repeated failures (django-axes), per user name and address.
AXES_FAILURE_LIMIT = env_int("ANJU_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("ANJU_LOGIN_LOCKOUT_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# Session lifetimes: idle timeout slides with activity, absolute timeout never moves.
SESSION_IDLE_TIMEOUT_SECONDS = env_int("ANJU_SESSION_IDLE_MINUTES", 30) * 60
SESSION_ABSOLUTE_TIMEOUT_SECONDS = env_int("ANJU_SESSION_ABSOLUTE_HOURS", 12) * 3600
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- i18n, time -----------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PROJECT_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static and uploaded files --------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every start when it is missing
MEDIA_URL = "/media/"
MEDIA_ROOT = env_path("ANJU_MEDIA_ROOT", DATA_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- security headers -----------------------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    # ECharts and htmx set element styles from script; attributes only, no style sheets.
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "anju.core.api.pagination.AnjuCursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "anju.core.api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Anju API",
    "DESCRIPTION": "Anju (安居) customer relationship management for real-estate developers.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # operations grouped by resource (customers, deals, tickets…), not all under "v1"
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # ~50 resources, ~270 operations: the docs open with the resources folded and a filter box
    "SWAGGER_UI_SETTINGS": {"docExpansion": "none", "filter": True},
    # Enum components are named after their field ("TierEnum"). Where fields of one name carry
    # different choice sets (the status of a deal, a lead, a ticket…), spectacular falls back to
    # a hash ("Status8b1Enum") and warns (drf_spectacular.W001, which fails the deploy check and
    # core/tests/test_api_docs.py), so such sets are named here. A set is matched by the hash of
    # its (value, label) pairs, labels translated into the request's language: name a model's
    # set by its Choices class; a plain list of values matches only a serializer field declared
    # with bare values (labels = values). A set that one component alone uses may keep
    # spectacular's <Component><Field>Enum (ChangeInKindEnum, LoanInStatusEnum).
    "ENUM_NAME_OVERRIDES": {
        # status
        "AgencyCommissionStatusEnum": "anju.leads.models.AgencyCommission.Status",
        "CaptureAnswerStatusEnum": ["queued", "received", "rejected"],
        "DealStatusEnum": "anju.sales.models.DealStatus",
        "HandoverBatchStatusEnum": "anju.aftersales.models.HandoverBatch.Status",
        "ImportPreviewRowStatusEnum": ["ok", "duplicate", "rejected"],
        "LeadStatusEnum": "anju.leads.models.Lead.Status",
        "LeadImportStatusEnum": "anju.leads.models.LeadImport.Status",
        # as DealChangeKindEnum: the bare values of a loan update are LoanInStatusEnum in Chinese
        "LoanStatusEnum": "anju.sales.models.LoanStatus",
        "QuoteStatusEnum": "anju.sales.models.Quote.Status",
        "RegistrationStatusEnum": "anju.leads.models.Registration.Status",
        "TicketStatusEnum": "anju.aftersales.models.TicketStatus",
        "UnitStatusEnum": "anju.property.models.Unit.Status",  # also from_status, to_status
        # stage
        "CustomerStageEnum": "anju.customers.models.Stage",
        "HandoverUnitStageEnum": "anju.aftersales.models.HandoverUnit.Stage",
        "OpportunityStageEnum": "anju.sales.models.OpportunityStage",  # also from_/to_stage
        # state (ExportRequest.State has the same choices; it would share the name)
        "DealChangeStateEnum": "anju.sales.models.DealChangeRequest.State",
        "ImportJobStateEnum": "anju.customers.models.ImportJob.State",
        "PriceImportStateEnum": "anju.property.models.PriceImport.State",
        # kind
        "ChannelKindEnum": "anju.leads.models.Channel.Kind",
        "CollectionInKindEnum": ["call", "visit", "wechat", "sms"],
        # in English its labels are its values: the same set as the bare values of a change
        # request's input (ChangeInKindEnum in Chinese), and one set takes one name
        "DealChangeKindEnum": "anju.sales.models.DealChangeRequest.Kind",
        "DealEventKindEnum": "anju.sales.models.DealEvent.Kind",
        "InstalmentInKindEnum": ["deposit", "down_payment", "instalment", "loan", "full"],
        "InstalmentKindEnum": "anju.sales.models.Instalment.Kind",
        "InteractionKindEnum": "anju.customers.models.Interaction.Kind",
        "HandoverEventKindEnum": "anju.aftersales.models.HandoverEvent.Kind",
        "LeadEventKindEnum": "anju.leads.models.LeadEvent.Kind",
        "LocationKindEnum": "anju.aftersales.models.Location.Kind",
        "SurveyQuestionKindEnum": "anju.aftersales.models.SurveyQuestion.Kind",
        # method, payment_method
        "DepositMethodEnum": ["transfer", "pos", "cash", "cheque"],
        "LeadMethodEnum": "anju.leads.models.Lead.Method",
        "PaymentInMethodEnum": ["transfer", "pos", "cash", "cheque", "loan"],
        "PaymentMethodEnum": "anju.sales.models.Payment.Method",
        # a quote's PaymentMethod has the same choices as DealPaymentMethod and shares the name
        "DealPaymentMethodEnum": "anju.sales.models.DealPaymentMethod",
        "ContractPaymentMethodEnum": ["full", "instalments", "mortgage", "provident_fund"],
        # ticket_type
        "TicketTypeEnum": "anju.aftersales.models.TicketType",
        "OwnerTicketFileTicketTypeEnum": ["repair", "complaint"],
        # grade and grade_override: one set, one name
        "GradeEnum": "anju.leads.models.Grade",
    },
}
SILENCED_SYSTEM_CHECKS: list[str] = []

# --- audit ----------------------------------------------------------------------------------
AUDITLOG_INCLUDE_ALL_MODELS = False
AUDITLOG_DISABLE_REMOTE_ADDR = False

# --- notifications --------------------------------------------------------------------------
# Channels beyond the in-app inbox; each is off until configured.
ANJU_NOTIFY_EMAIL = env_bool("ANJU_NOTIFY_EMAIL", False)
ANJU_SMS_BACKEND = env_str("ANJU_SMS_BACKEND", "anju.core.notifications.channels.LoggingSmsGateway")
ANJU_SMS_GATEWAY_URL = env_str("ANJU_SMS_GATEWAY_URL", "")
ANJU_WECOM_WEBHOOK_URL = env_str("ANJU_WECOM_WEBHOOK_URL", "")
def build_mailers(default_backend: str) -> dict:
    backend = env_str("ANJU_EMAIL_BACKEND", default_backend)
    mailer: dict = {"BACKEND": backend}
    if backend.endswith("smtp.EmailBackend"):
        mailer["OPTIONS"] = {
            "host": env_str("ANJU_EMAIL_HOST", "localhost"),
            "port": env_int("ANJU_EMAIL_PORT", 25),
            "username": env_str("ANJU_EMAIL_USER", ""),
            "password": env_str("ANJU_EMAIL_PASSWORD", ""),
            "use_tls": env_bool("ANJU_EMAIL_STARTTLS", False),
            "timeout": 10,
        }
    return {"default": mailer}


# Development prints mail to the console; production defaults to SMTP.
MAILERS = build_mailers("django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("ANJU_EMAIL_FROM", "anju@localhost")

# --- exports --------------------------------------------------------------------------------
ANJU_EXPORT_APPROVAL_THRESHOLD = env_int("ANJU_EXPORT_APPROVAL_THRESHOLD", 5000)
# Open follow-ups overdue by more than this are flagged to the consultant's team leader.
ANJU_FOLLOW_UP_ESCALATE_HOURS = env_int("ANJU_FOLLOW_UP_ESCALATE_HOURS", 24)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_pii": {"()": "anju.core.masking.MaskingLogFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain",
                    "filters": ["mask_pii"]},
    },
    "root": {"handlers": ["console"], "level": env_str("ANJU_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
