"""Settings for the referral hub, read from the environment (see DESIGN.md, *Running*)."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from hub.proxies import secure_proxy_ssl_header

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value not in ("0", "1"):
        raise ImproperlyConfigured(f"{name} must be 1 or 0, not {value!r}.")
    return value == "1"


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value else default


DEBUG = env_flag("DEBUG", default=False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")
    # Only for a local first run: a fixed key is harmless where DEBUG is on.
    SECRET_KEY = "development-only-secret-key-never-used-with-debug-off"  # noqa: S105

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
if DEBUG or not ALLOWED_HOSTS:
    ALLOWED_HOSTS += ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "hub.admin_site.HubAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "auditlog",
    "axes",
    "hub",
    "agencies",
    "referrals",
    "consent",
    "sharing_policies",
    "audit",
]

MIDDLEWARE = [
    "hub.middleware.RequestIdMiddleware",
    "hub.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "agencies.middleware.AgencyAuditlogMiddleware",
    # Last, as django-axes requires: refuses a locked-out sign-in with 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hub.urls"
WSGI_APPLICATION = "hub.wsgi.application"
ASGI_APPLICATION = "hub.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Searched before the apps' own templates: the hub overrides a few of them.
        "DIRS": [BASE_DIR / "hub" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hub.web.changes_waiting",
                "hub.web.idle_timeout",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
(BASE_DIR / "var").mkdir(exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'var' / 'hub.sqlite3'}"
# The pool needs CONN_MAX_AGE = 0 (Django refuses persistent connections beside a pool).
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Fail fast while the database is unreachable (DESIGN.md: 503 with Retry-After within a
    # second): a request waits at most `timeout` seconds for a pooled connection, then answers
    # 503 (core.problems), instead of holding a worker for the 10 s seen in an outage. The pool
    # reconnects in the background (libpq's connect_timeout bounds each attempt; 2 s is its
    # minimum), so the hub recovers without a restart. A busy pool that cannot hand out a
    # connection in time sheds the request the same way; size workers to DATABASE_POOL_SIZE.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # a broken pooled connection is replaced
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "connect_timeout": 2,
            "pool": {
                "min_size": 1,
                "max_size": env_int("DATABASE_POOL_SIZE", 4),
                "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT") or 0.5),
                # psycopg_pool doubles its retry delay without bound for 300 s; giving up a
                # reconnection after 5 s lets the next request start a fresh one, so the hub
                # is back within seconds of the database.
                "reconnect_timeout": 5,
            },
        }
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Every audited read also writes: a deferred transaction that upgrades to a write lock
    # fails with "database is locked" under concurrency, an immediate one waits its turn.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttling) ---------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "hub",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Users, passwords, client secrets -------------------------------------------------------------
AUTH_USER_MODEL = "agencies.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "agencies.hashers.ClientSecretHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
# django-axes first: it refuses a sign-in while its user name and address are locked out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files: the docs' assets are served by the hub itself, DEBUG or not -----------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing one
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Plain storage: manifest storage breaks pages until collectstatic has run.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Transport security (TLS usually ends at a proxy) --------------------------------------------
SECURE_SSL_REDIRECT = env_flag("SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# People are signed out after WEB_IDLE_MINUTES without a request (a sliding expiry: every
# request saves the session); the pages warn WEB_IDLE_WARNING_SECONDS before and let the person
# stay signed in (hub/static/hub/timeout.js, hub.pages.session_extend).
SESSION_COOKIE_AGE = int(os.environ.get("WEB_IDLE_MINUTES", "20")) * 60
SESSION_SAVE_EVERY_REQUEST = True
WEB_IDLE_WARNING_SECONDS = int(os.environ.get("WEB_IDLE_WARNING_SECONDS", "120"))
SECURE_HSTS_SECONDS = 0 if DEBUG else 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
# Nothing to any other site. Not no-referrer: under it browsers send `Origin: null` with a
# form's POST, and Django's CSRF check refuses every form of the web pages.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Client addresses come from REMOTE_ADDR unless the operator says how many proxies to trust.
NUM_PROXIES = env_int("NUM_PROXIES", 0)
# X-Forwarded-Proto is believed only from a proxy: with none, a client could forge it.
SECURE_PROXY_SSL_HEADER = secure_proxy_ssl_header(NUM_PROXIES)
# django-csp: every response (JSON and static files too); only the docs pages widen it, per view
# (hub.docs). No inline script or style anywhere else.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
    }
}

# Request bodies larger than this are refused with 413 before anything reads them.
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 256 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

# --- Credential guessing and floods (core.throttles, audit.bursts; README, *Configuration*) ------
# Per source address: requests that failed authentication, API and /o/token/ alike.
FAILED_REQUEST_RATE_LIMIT = os.environ.get("FAILED_REQUEST_RATE_LIMIT", "30/min")
# Every /o/token/ request, per client id tried and per source address.
TOKEN_RATE_LIMIT = os.environ.get("TOKEN_RATE_LIMIT", "20/min")
TOKEN_ADDRESS_RATE_LIMIT = os.environ.get("TOKEN_ADDRESS_RATE_LIMIT", "120/min")
# Refusals from one source within this many seconds are recorded as one aggregated record.
REFUSAL_BURST_SECONDS = env_int("REFUSAL_BURST_SECONDS", 60)
# Staff sign-in (and the admin's): locked out after this many failures for one user name from
# one address, for this many minutes (django-axes; its address is the access record's).
AXES_FAILURE_LIMIT = env_int("SIGN_IN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SIGN_IN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "hub.api.source_address"
AXES_RESET_ON_SUCCESS = True
# A page of the hub's own, with the 429 django-axes answers a lockout with.
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Sign-ins are recorded as access records (audit.signals); axes keeps only its lockout state.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# The admin is the hub operator's (hub.admin_site); switch it off where nobody needs it.
ADMIN_ENABLED = env_flag("ADMIN_ENABLED", default=True)

# --- Django REST framework ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["agencies.authentication.AgencyTokenAuthentication"],
    # Deny by default: every view names the scopes it needs.
    "DEFAULT_PERMISSION_CLASSES": ["agencies.permissions.HasRequiredScopes"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "core.problems.ProblemJSONRenderer",
    ]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PARSER_CLASSES": ["hub.parsers.DepthLimitedJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["agencies.throttling.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"client": os.environ.get("CLIENT_RATE_LIMIT", "1200/min")},
    "DEFAULT_PAGINATION_CLASS": "core.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "hub.schema.HubAutoSchema",
    "NUM_PROXIES": NUM_PROXIES,
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# --- OAuth2 (django-oauth-toolkit) ----------------------------------------------------------------
OAUTH2_PROVIDER_APPLICATION_MODEL = "agencies.Client"
SCOPES = {
    "referrals:read": "Read referrals, their history, events, accesses and reports",
    "referrals:write": "Create and amend referrals, move them, write reports, manage programmes",
    "consent:read": "Read consent records",
    "consent:write": "Record and withdraw consent",
    "policies:read": "Read sharing agreements and explain decisions",
    "policies:write": "Publish and change sharing agreements",
    "audit:read": "Search the audit trail (data-protection officers)",
}
OAUTH2_PROVIDER = {
    "SCOPES": SCOPES,
    # The registered scopes of the requesting client, never every scope (see LIBRARY-NOTES).
    "SCOPES_BACKEND_CLASS": "agencies.scopes.ClientScopes",
    "OAUTH2_VALIDATOR_CLASS": "agencies.oauth.HubOAuth2Validator",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("ACCESS_TOKEN_SECONDS", 900),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env_int("REFRESH_TOKEN_SECONDS", 8 * 3600),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "PKCE_REQUIRED": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if not DEBUG else ["https", "http"],
    # Client secrets are long and random: a salted SHA-256 resists guessing as well as PBKDF2
    # does for them, without spending 0.2 s of CPU on every token request.
    "CLIENT_SECRET_HASHER": "sha256_client_secret",
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

# --- django-auditlog (model changes; access records live in audit/) ------------------------------
# The sanitised X-Request-ID (never the raw header) as each change's correlation id.
AUDITLOG_CID_GETTER = "hub.middleware.current_request_id"
AUDITLOG_DISABLE_REMOTE_ADDR = False

# --- Access records: sealing and search ---------------------------------------------------------
# Records per sealed batch (manage.py audit_seal seals a partial last batch too).
AUDIT_SEAL_BATCH_SIZE = env_int("AUDIT_SEAL_BATCH_SIZE", 1000)
# The longest a request's transaction may stay open: a record committed later than this after
# its own time, behind an already sealed range, is reported by audit_verify as inserted.
AUDIT_SEAL_GRACE_SECONDS = env_int("AUDIT_SEAL_GRACE_SECONDS", 300)
# An export larger than this is refused: narrow the filters (exports are streamed regardless).
AUDIT_EXPORT_MAX_RECORDS = env_int("AUDIT_EXPORT_MAX_RECORDS", 100_000)

# --- Retention (manage.py apply_retention), in days -----------------------------------------------
# Personal data past these periods is deleted and a tombstone left; access records hold none and
# are kept for ever, so the audit chain keeps verifying.
RETENTION_DAYS = {
    # A referral closed (completed, declined, terminated, withdrawn) this long ago.
    "referral": env_int("RETENTION_REFERRAL_DAYS", 6 * 365),
    # A consent withdrawn or expired this long ago (the consents of an erased referral go with it).
    "consent": env_int("RETENTION_CONSENT_DAYS", 6 * 365),
    # Idempotency keys are honoured for a day; kept a little longer for support.
    "idempotency_key": env_int("RETENTION_IDEMPOTENCY_KEY_DAYS", 7),
}

# --- OpenAPI --------------------------------------------------------------------------------------
SPECTACULAR_SETTINGS = {
    "TITLE": "Referral hub API",
    "DESCRIPTION": (
        "Inter-agency referral and information-sharing hub for domestic-violence perpetrator "
        "programmes. Every response about a referral is minimised to the data categories the "
        "caller may see for its declared purpose (`X-Purpose`); `withheld` lists the others and "
        "why, never their content.\n\n"
        "What the partner said belongs in `partner.disclosures`, never in an offence or risk "
        "summary: those reach the men's programme, what she said never does."
    ),
    "VERSION": "1.0.0",
    # 3.1: nullable nested objects are plain JSON Schema (3.0's `nullable` beside `allOf` is
    # read differently by different validators).
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Read-only keys of a body are not all present in every response (a statement has no
    # `outcome`, a contact attempt no `disclosed_on`).
    "COMPONENT_NO_READ_ONLY_REQUIRED": True,
    # Problems are documented per status; successes are plain JSON.
    "RENDERER_WHITELIST": ["rest_framework.renderers.JSONRenderer"],
    "ENUM_NAME_OVERRIDES": {
        "AgencyKindEnum": "agencies.models.AgencyKind",
        "CategoryEnum": "core.vocabulary.CATEGORY_VALUES",
        "PurposeEnum": "core.vocabulary.PURPOSE_VALUES",
        "LawfulBasisEnum": "core.vocabulary.LAWFUL_BASIS_VALUES",
        "WithholdReasonEnum": "core.vocabulary.WITHHOLD_REASON_VALUES",
        "ReferralStatusEnum": "referrals.models.Status",
        "AgreementStatusEnum": "sharing_policies.models.AgreementStatus",
        "ConsentStatusEnum": "consent.serializers.CONSENT_STATUSES",
        "AccessOutcomeEnum": "audit.models.Outcome",
        "ContactOutcomeEnum": "referrals.serializers.CONTACT_OUTCOMES",
        "ProvisionTypeEnum": "consent.serializers.PROVISION_TYPES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "hub.schema.forbid_unknown_request_fields",
    ],
    "OAUTH2_FLOWS": ["clientCredentials", "authorizationCode"],
    "OAUTH2_TOKEN_URL": "/o/token/",
    "OAUTH2_AUTHORIZATION_URL": "/o/authorize/",
    "OAUTH2_REFRESH_URL": "/o/token/",
    "OAUTH2_SCOPES": SCOPES,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
