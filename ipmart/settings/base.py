"""Settings shared by every run mode. Everything that differs between machines comes from the
environment; see `.env.example` and the README's table of variables."""

import importlib.util
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

# Every variable is read through django-environ (`env.str`, `env.int`, `env.bool`, `env.db_url`);
# an empty value counts as unset. `env_bool`/`env_list` are kept as thin wrappers for the blocks
# below that use them.
env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env.str("IPMART_VAR_DIR", default="") or BASE_DIR / "var")


def env_bool(name: str, default: bool = False) -> bool:
    if not env.str(name, default="").strip():
        return default
    return env.bool(name, default=default)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env.list(name, default=default.split(",")) if item.strip()]


SECRET_KEY = env.str("SECRET_KEY", default="")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # Our apps first so their templates and translations take precedence over allauth's.
    "ipmart.core",
    "support",
    "orders",
    "accounts",
    "marketing",
    "privacy",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_countries",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
]

MIDDLEWARE = [
    "ipmart.core.health.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "ipmart.core.middleware.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.PreferredLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.StaffMFARequiredMiddleware",
]

ROOT_URLCONF = "ipmart.urls"
WSGI_APPLICATION = "ipmart.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "privacy.context_processors.policy_notice",
                "ipmart.core.context_processors.site_links",
                # Last: while a page renders for the anonymous page cache, {% csrf_token %}
                # writes a placeholder that each response fills with its visitor's token.
                "ipmart.core.page_cache.csrf_placeholder",
            ],
        },
    },
]

# --- Database: SQLite unless DATABASE_URL names another (PostgreSQL in tests, CI, production).
DATABASES = {
    "default": {
        **env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        "CONN_MAX_AGE": env.int("DATABASE_CONN_MAX_AGE", default=0),
        "CONN_HEALTH_CHECKS": True,
    }
}
if DATABASES["default"].get("ENGINE") == "django.db.backends.sqlite3":
    # The embedded default serves several threads (runserver, a webhook racing the customer's
    # return): take the write lock when a transaction starts and wait for it, instead of
    # failing with "database is locked" when two transactions upgrade at once.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: shared by every worker process, because allauth keeps its login rate limits and
# TOTP replay protection there (a per-process cache multiplies the limits by the worker count).
# django-redis keeps one client per connection pool (Django's own backend builds one per call).
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="ipmart"),
        }
    }
    # Sessions read from Redis, written through to the database (no query per request).
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "ipmart_cache",
        }
    }

# --- Celery: eager in-process without a broker, Redis with one.
CELERY_TASK_ALWAYS_EAGER = not (env.str("CELERY_BROKER_URL", default="") or REDIS_URL)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or (
    None if CELERY_TASK_ALWAYS_EAGER else CELERY_BROKER_URL
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60}

# --- Accounts and authentication (django-allauth).
AUTH_USER_MODEL = "accounts.User"
# Django's and allauth's backends, loading the signed-in user from SQL compiled once
# (accounts/auth_backends.py). A session names the backend it signed in with.
AUTHENTICATION_BACKENDS = [
    "accounts.auth_backends.PasswordBackend",
    "accounts.auth_backends.EmailBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "accounts:dashboard"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_MAX_EMAIL_ADDRESSES = 2
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
# No "[IPmart] " prefix: the sender's name already says IPmart, and a phone shows only the
# first ~35 characters of a subject, which should be the order number or the action.
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env.str("ACCOUNT_DEFAULT_HTTP_PROTOCOL", default="http")
# allauth's defaults, written out so the limits are visible: 5 failed logins per account per
# 5 minutes, and per-IP limits on login, signup and password reset.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
}
MFA_ADAPTER = "accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "IPmart"
# Fernet keys (comma-separated, newest first) that encrypt TOTP secrets at rest. The name ends in
# KEYS so Django's error reports mask it.
MFA_ENCRYPTION_KEYS = env_list("MFA_ENCRYPTION_KEYS")
# Staff must enrol TOTP before any admin page opens. Only the embedded demo turns this off.
STAFF_MFA_REQUIRED = env_bool("STAFF_MFA_REQUIRED", True)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- Internationalisation: English and Bahasa Malaysia.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ms", _("Bahasa Malaysia"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Kuala_Lumpur"
USE_I18N = True
USE_TZ = True

# --- Static files (all served from this host; no CDN).
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Email.
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="IPmart <no-reply@ipmart.com.my>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = VAR_DIR / "mail"
# The store's name in every email (greeting, layout, allauth's "site"); the footer's contact
# facts are SUPPORT_EMAIL, SUPPORT_PHONE_NUMBERS and SUPPORT_POSTAL_ADDRESS.
STORE_NAME = env.str("STORE_NAME", default="IPmart")

# --- Security headers. CSP: no inline script or style, nothing from other hosts.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

# Number of reverse proxies in front of the store whose X-Forwarded-For can be trusted for the
# client IP recorded in consent and access logs (0: use the socket's address).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Payment gateway (Worldline Connect, ex Global Collect). The store and the local payment
# sandbox (`manage.py payment_sandbox`) read the same variables; local defaults point at the
# sandbox, production has no defaults (see production.py).
GATEWAY_ENDPOINT = env.str("GATEWAY_ENDPOINT", default="http://127.0.0.1:8001")
GATEWAY_MERCHANT_ID = env.str("GATEWAY_MERCHANT_ID", default="ipmart-sandbox")
GATEWAY_API_KEY_ID = env.str("GATEWAY_API_KEY_ID", default="sandbox-api-key")
GATEWAY_SECRET_API_KEY = env.str(
    "GATEWAY_SECRET_API_KEY", default="sandbox-secret-api-key-not-secret"
)
GATEWAY_WEBHOOK_KEY_ID = env.str("GATEWAY_WEBHOOK_KEY_ID", default="sandbox-webhook-key")
GATEWAY_WEBHOOK_SECRET = env.str(
    "GATEWAY_WEBHOOK_SECRET", default="sandbox-webhook-secret-not-secret"
)
# The hosted page's address is the gateway's partialRedirectUrl behind this prefix
# ("https://payment." for the real gateway, "http://" for the sandbox).
GATEWAY_REDIRECT_PREFIX = env.str("GATEWAY_REDIRECT_PREFIX", default="http://")
# Where the sandbox posts its webhooks (the local store's endpoint by default).
GATEWAY_SANDBOX_WEBHOOK_URL = env.str(
    "GATEWAY_SANDBOX_WEBHOOK_URL", default="http://127.0.0.1:8000/payments/webhook/"
)

# --- Shop.
# How long an unpaid order holds its stock and licence keys (also the hosted checkout's timeout).
ORDER_RESERVATION_MINUTES = env.int("ORDER_RESERVATION_MINUTES", default=30)
# Hosts the store will redirect a customer to for payment ("." prefix: any subdomain).
GATEWAY_ALLOWED_REDIRECT_HOSTS = env_list("GATEWAY_ALLOWED_REDIRECT_HOSTS", "127.0.0.1:8001")
GATEWAY_ALLOW_HTTP_REDIRECT = env_bool("GATEWAY_ALLOW_HTTP_REDIRECT", True)
# The reconciliation job asks the gateway about attempts older than this with no final status…
PAYMENT_RECONCILE_AFTER_MINUTES = env.int("PAYMENT_RECONCILE_AFTER_MINUTES", default=10)
# …and closes a hosted checkout still "in progress" after this long as abandoned.
GATEWAY_CHECKOUT_TIMEOUT_MINUTES = env.int("GATEWAY_CHECKOUT_TIMEOUT_MINUTES", default=60)
# Shipping of goods is a taxable service in Malaysia: it is taxed at the rate of the "service
# tax" TaxRate row (product kind SHIPPING_TAX_RATE_KIND, editable and audited in admin). Empty: no
# tax on shipping.
SHIPPING_TAX_RATE_KIND = env.str("SHIPPING_TAX_RATE_KIND", default="licence")
# The seller's legal facts printed on receipts (the privacy policy's company facts by default).
SELLER_LEGAL_NAME = env.str("SELLER_LEGAL_NAME", default="IPmart Sdn. Bhd.")
SELLER_ADDRESS = env.str("SELLER_ADDRESS", default="Kuala Lumpur, Malaysia")
SELLER_SST_NUMBER = env.str("SELLER_SST_NUMBER", default="W10-0000-00000000")
# How long the payment return page's script keeps asking for licence keys (seconds).
ORDER_STATUS_POLL_SECONDS = env.int("ORDER_STATUS_POLL_SECONDS", default=60)
# --- Outbox (durable side effects, `ipmart/core/outbox.py`).
# A relayed message not finished by then is handed to the broker again by the sweeper.
OUTBOX_RELAY_LEASE_SECONDS = env.int("OUTBOX_RELAY_LEASE_SECONDS", default=120)
# How long a runner holds a message; a runner killed mid-work lets go when it passes.
OUTBOX_RUN_LEASE_SECONDS = env.int("OUTBOX_RUN_LEASE_SECONDS", default=600)
# Finished messages are kept this many days for inspection, then deleted.
OUTBOX_KEEP_DONE_DAYS = env.int("OUTBOX_KEEP_DONE_DAYS", default=7)
CELERY_BEAT_SCHEDULE = {
    "reconcile-payments": {"task": "orders.tasks.reconcile_payments_task", "schedule": 300.0},
    "relay-outbox": {"task": "ipmart.core.tasks.relay_outbox_task", "schedule": 30.0},
}
# Absolute address of the store, for links in email sent outside a request (tasks).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")


# Checkout posts a form whose answer redirects to the gateway's hosted page; browsers apply
# CSP form-action to that redirect, so the gateway's hosts are allowed there.
def gateway_form_action(hosts: list[str], allow_http: bool) -> list[str]:
    scheme = "http" if allow_http else "https"
    return [SELF, *(f"https://*{h}" if h.startswith(".") else f"{scheme}://{h}" for h in hosts)]


CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] = gateway_form_action(
    GATEWAY_ALLOWED_REDIRECT_HOSTS, GATEWAY_ALLOW_HTTP_REDIRECT
)

# --- Privacy: data rights and retention (issue 10). Each retention period is listed in the
# README; `manage.py retention --dry-run` prints what the periods would remove now.
# A download link of the customer's data archive works this many days; the archive then goes.
DATA_EXPORT_EXPIRY_DAYS = env.int("DATA_EXPORT_EXPIRY_DAYS", default=7)
# Where archives are written: a private folder, never served by the web server.
DATA_EXPORT_DIR = Path(env.str("DATA_EXPORT_DIR", default="") or VAR_DIR / "private" / "exports")
STORAGES["exports"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": DATA_EXPORT_DIR, "base_url": None},
}
# Orders are tax records: an order of a closed account is deleted this many years after it
# was placed (Malaysia's Income Tax Act s. 82 asks for 7).
ORDER_RETENTION_YEARS = env.int("ORDER_RETENTION_YEARS", default=7)
# An anonymous visitor's cart untouched this many days is deleted.
ANONYMOUS_CART_RETENTION_DAYS = env.int("ANONYMOUS_CART_RETENTION_DAYS", default=30)
# An order that expired or was cancelled without payment is deleted this many days after.
UNPAID_ORDER_RETENTION_DAYS = env.int("UNPAID_ORDER_RETENTION_DAYS", default=90)
# IP addresses in policy acceptances and the access log are blanked after this many days.
IP_ADDRESS_RETENTION_DAYS = env.int("IP_ADDRESS_RETENTION_DAYS", default=365)
# The old address of a closed account, kept only to send the final email, goes after this.
CLOSURE_NOTICE_RETENTION_DAYS = env.int("CLOSURE_NOTICE_RETENTION_DAYS", default=7)
# The data protection officer's contact, given to people in a breach notice.
DPO_EMAIL = env.str("DPO_EMAIL", default="dpo@ipmart.com.my")
DPO_PHONE = env.str("DPO_PHONE", default="+60 3-2711 0000")
CELERY_BEAT_SCHEDULE["retention"] = {
    "task": "privacy.tasks.retention_task",
    "schedule": 24 * 60 * 60.0,
}

# --- Verification documents (issue 7)
# Master keys of the document vault, newest first: "key-id:<base64 of 32 random bytes>", comma
# separated. New files use the first; `manage.py rotate_document_keys` re-wraps old files.
DOCUMENT_KEYS = env_list("DOCUMENT_KEYS")
# Where encrypted blobs go when STORAGES has no "documents" entry: a private folder, never
# served (not under STATIC_ROOT or MEDIA_ROOT).
DOCUMENT_STORAGE_DIR = Path(env.str("DOCUMENT_STORAGE_DIR", default="") or VAR_DIR / "vault")
# Upload limits: bytes per file (enforced while the request streams in) and files per order.
DOCUMENT_MAX_UPLOAD_MB = env.int("DOCUMENT_MAX_UPLOAD_MB", default=10)
VERIFICATION_MAX_FILES = env.int("VERIFICATION_MAX_FILES", default=5)
# Rejected documents after which the order is cancelled and refunded.
VERIFICATION_MAX_REJECTIONS = env.int("VERIFICATION_MAX_REJECTIONS", default=3)
# Hold rule thresholds (whole ringgit): any order above the first, a customer's first paid
# order above the second.
VERIFICATION_HOLD_TOTAL_MYR = env.int("VERIFICATION_HOLD_TOTAL_MYR", default=5000)
VERIFICATION_HOLD_FIRST_ORDER_MYR = env.int("VERIFICATION_HOLD_FIRST_ORDER_MYR", default=2000)
# Document kinds that must be approved before a held order is released.
VERIFICATION_REQUIRED_KINDS = env_list("VERIFICATION_REQUIRED_KINDS", "card_statement,identity")
# Days after the reviewer's decision until a document's files are crypto-shredded.
DOCUMENT_RETENTION_DAYS = env.int("DOCUMENT_RETENTION_DAYS", default=30)
# Safe-upload intake (privacy/intake): image pixel limit (Pillow's default is 89 MP), PDF page
# limit, and the CPU seconds and memory of the child process that parses and renders a PDF.
INTAKE_MAX_IMAGE_PIXELS = env.int("INTAKE_MAX_IMAGE_PIXELS", default=25000000)
INTAKE_PDF_MAX_PAGES = env.int("INTAKE_PDF_MAX_PAGES", default=20)
INTAKE_PDF_CPU_SECONDS = env.int("INTAKE_PDF_CPU_SECONDS", default=5)
INTAKE_PDF_MEMORY_MB = env.int("INTAKE_PDF_MEMORY_MB", default=768)

# --- Customer service (issue 9)
# Contact facts shown on /support/ (the policy's "Customer Service" section).
SUPPORT_EMAIL = env.str("SUPPORT_EMAIL", default="support@ipmart.com.my")
SUPPORT_PHONE_NUMBERS = env_list("SUPPORT_PHONE_NUMBERS", "+60 3-2711 0000")
SUPPORT_POSTAL_ADDRESS = env.str(
    "SUPPORT_POSTAL_ADDRESS", default="IPmart Customer Service, Kuala Lumpur, Malaysia"
)
# Replies to support email go to SUPPORT_EMAIL's mailbox with a signed per-thread tag:
# support+<token>@domain. The provider routes that mailbox to the inbound webhook.
# A guest's signed link to their thread stops working this many days after the last email.
SUPPORT_GUEST_LINK_DAYS = env.int("SUPPORT_GUEST_LINK_DAYS", default=30)
# The one-click rating link in the "resolved" email works this many days.
SUPPORT_RATING_LINK_DAYS = env.int("SUPPORT_RATING_LINK_DAYS", default=30)
# New inquiries accepted per hour from one IP address and for one email address.
SUPPORT_INQUIRIES_PER_HOUR = env.int("SUPPORT_INQUIRIES_PER_HOUR", default=5)
# Targets per category, in hours: "category=hours,…" (categories missing use "other").
SUPPORT_FIRST_RESPONSE_HOURS = env.str(
    "SUPPORT_FIRST_RESPONSE_HOURS",
    default="order=8,licence_key=8,billing=24,privacy_request=72,complaint=24,other=24",
)
SUPPORT_RESOLUTION_HOURS = env.str(
    "SUPPORT_RESOLUTION_HOURS",
    default="order=48,licence_key=48,billing=72,privacy_request=504,complaint=504,other=120",
)
# Resolved or closed inquiries are deleted (with their messages) this many days after the last
# activity by the retention schedule.
SUPPORT_RETENTION_DAYS = env.int("SUPPORT_RETENTION_DAYS", default=730)
# Replies a customer or guest may add per hour on one thread, and from one IP address or one
# email address across threads (the web form; email replies are not limited).
SUPPORT_REPLIES_PER_HOUR = env.int("SUPPORT_REPLIES_PER_HOUR", default=10)
# Mailgun signs its inbound webhook with MAILGUN_WEBHOOK_SIGNING_KEY (see ANYMAIL in the
# marketing block); without it the inbound webhook answers 404.

# --- Marketing (issue 8)
# Key of the signed unsubscribe/preference/confirmation links (SECRET_KEY when empty), and old
# keys still accepted, so a rotation never breaks a link already in an inbox.
MARKETING_SIGNING_KEY = env.str("MARKETING_SIGNING_KEY", default="")
MARKETING_SIGNING_FALLBACKS = env_list("MARKETING_SIGNING_FALLBACKS")
# HMAC key of the suppression list (addresses are kept only as this keyed hash).
MARKETING_SUPPRESSION_KEY = env.str("MARKETING_SUPPRESSION_KEY", default="")
MARKETING_FROM_EMAIL = env.str("MARKETING_FROM_EMAIL", default="IPmart <promo@news.ipmart.com.my>")
MARKETING_REPLY_TO = env.str("MARKETING_REPLY_TO", default="")
MARKETING_LIST_DOMAIN = env.str("MARKETING_LIST_DOMAIN", default="news.ipmart.com.my")
# Email backend for campaigns ("" = EMAIL_BACKEND; anymail.backends.mailgun.EmailBackend for
# Mailgun).
MARKETING_EMAIL_BACKEND = env.str("MARKETING_EMAIL_BACKEND", default="")
MARKETING_BATCH_SIZE = env.int("MARKETING_BATCH_SIZE", default=500)
MARKETING_MAX_ATTEMPTS = env.int("MARKETING_MAX_ATTEMPTS", default=5)
MARKETING_STUCK_AFTER_SECONDS = env.int("MARKETING_STUCK_AFTER_SECONDS", default=900)
MARKETING_CONFIRM_LINK_DAYS = env.int("MARKETING_CONFIRM_LINK_DAYS", default=7)
MARKETING_PREFERENCES_LINK_DAYS = env.int("MARKETING_PREFERENCES_LINK_DAYS", default=90)
INSTALLED_APPS.append("anymail")
# Mailgun through django-anymail; an empty value is left out, so a webhook without its signing
# key configured is refused rather than checked against an empty key.
ANYMAIL = {
    name: value
    for name, value in {
        "MAILGUN_API_KEY": env.str("MAILGUN_API_KEY", default=""),
        "MAILGUN_SENDER_DOMAIN": env.str("MAILGUN_SENDER_DOMAIN", default=""),
        "MAILGUN_WEBHOOK_SIGNING_KEY": env.str("MAILGUN_WEBHOOK_SIGNING_KEY", default=""),
        # Basic-auth "user:password" Mailgun is configured to send with its webhooks.
        "WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default=""),
    }.items()
    if value
}
CELERY_BEAT_SCHEDULE["marketing-start-due-campaigns"] = {
    "task": "marketing.tasks.start_due_campaigns_task",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["marketing-mark-stuck-deliveries"] = {
    "task": "marketing.tasks.mark_stuck_deliveries_task",
    "schedule": 300.0,
}

# --- Reliability and hardening (issue 6)
# The broker answers within this many seconds or a publish fails (the outbox keeps the message
# for the sweeper): a webhook or checkout never waits on a broker that is down. Without it a
# stopped Redis made each publish wait for kombu's connection retries (6 s measured).
BROKER_TIMEOUT_SECONDS = env.float("BROKER_TIMEOUT_SECONDS", default=2)
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT_SECONDS
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
    "socket_timeout": max(BROKER_TIMEOUT_SECONDS, 5.0),
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "connect_retries_timeout": BROKER_TIMEOUT_SECONDS,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
    "socket_timeout": max(BROKER_TIMEOUT_SECONDS, 5.0),
}
# The cache may live in another Redis than the broker (compose: a bounded, evicting instance
# for the cache; a never-evicting one for the queue). Defaults to REDIS_URL.
CACHE_REDIS_URL = env.str("CACHE_REDIS_URL", default="") or REDIS_URL
if REDIS_URL:
    CACHES["default"]["LOCATION"] = CACHE_REDIS_URL
    CACHES["default"].setdefault("OPTIONS", {}).update(
        socket_connect_timeout=BROKER_TIMEOUT_SECONDS, socket_timeout=5.0
    )
# A paid order still without fulfilment this long after payment is fulfilled by the sweeper
# (and staff are alerted): the outbox normally fulfils it within seconds.
FULFILMENT_RESCUE_AFTER_MINUTES = env.int("FULFILMENT_RESCUE_AFTER_MINUTES", default=5)
CELERY_BEAT_SCHEDULE["rescue-unfulfilled-orders"] = {
    "task": "orders.tasks.rescue_unfulfilled_orders_task",
    "schedule": 120.0,
}
# Deepest page a list serves (deeper asks show this one): bounds what enters cache keys and
# the offsets sent to the database.
MAX_PAGE_NUMBER = env.int("MAX_PAGE_NUMBER", default=200)
# Every request carries an id (X-Request-ID: the trusted proxy's, else generated), every log
# line shows it, and the 500 page gives it to the customer (ipmart/core/request_id.py).
MIDDLEWARE = ["ipmart.core.request_id.RequestIdMiddleware", *MIDDLEWARE]
LOGGING["filters"] = {"request_id": {"()": "ipmart.core.request_id.RequestIdFilter"}}
LOGGING["formatters"]["plain"]["format"] = (
    "%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s"
)
LOGGING["handlers"]["console"]["filters"] = ["request_id"]
# Staff sessions: logged out after this long without a request, and this long after they
# started, whatever "remember me" said; customers keep their sessions (and "remember me").
STAFF_SESSION_IDLE_MINUTES = env.int("STAFF_SESSION_IDLE_MINUTES", default=30)
STAFF_SESSION_MAX_HOURS = env.int("STAFF_SESSION_MAX_HOURS", default=12)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware") + 1,
    "accounts.middleware.StaffSessionLimitsMiddleware",
)
# The gateway must connect and answer within these (seconds): a customer's request that calls
# it answers well inside gunicorn's 30 s worker timeout (a create that timed out is not retried
# in the same request). The SDK default in this project was 30 s per try, three tries.
GATEWAY_CONNECT_TIMEOUT_SECONDS = env.float("GATEWAY_CONNECT_TIMEOUT_SECONDS", default=3)
GATEWAY_SOCKET_TIMEOUT_SECONDS = env.float("GATEWAY_SOCKET_TIMEOUT_SECONDS", default=10)

# --- Production operations (issue 11)
# Uploaded media and the private document storage (a named volume in docker-compose.yml).
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default="") or VAR_DIR / "media")
# Who may read /metrics (Prometheus): these networks, and never through the proxy.
METRICS_ALLOWED_NETWORKS = env_list(
    "METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"
)
INSTALLED_APPS += ["django_prometheus"]
# The payment sandbox (`payment_sandbox/`, a development stand-in for the gateway that the shop
# never imports) adds `manage.py payment_sandbox` wherever its source is present: the checkout
# and the image's /app for the demo profile; it is not part of the installed package.
if importlib.util.find_spec("payment_sandbox") is not None:
    INSTALLED_APPS += ["payment_sandbox"]
MIDDLEWARE = [
    "ipmart.core.request_id.RequestIdMiddleware",  # first: every later line carries the id
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "ipmart.core.observability.RequestLogMiddleware",
    *(m for m in MIDDLEWARE if m != "ipmart.core.request_id.RequestIdMiddleware"),
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
# Log lines: "plain" text, or "json" (one object per line with the request's id, user id,
# status and duration; production's default).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING["formatters"]["json"] = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}
LOGGING["handlers"]["console"]["formatter"] = "json" if LOG_FORMAT == "json" else "plain"

# --- Storefront (issue 13: catalogue)
# Product images (public, resized renditions) are stored through the default storage under
# MEDIA_ROOT and served at MEDIA_URL (by `make run` itself in DEBUG, by the proxy in production).
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
# --- S3-compatible private storage (issues 7 and 11, through django-storages). With a bucket
# set, the document vault (STORAGES["documents"]: documents, previews, data archives) and the
# old archives' storage write there instead of local folders. The vault still encrypts every
# file before the storage sees it, so the bucket holds only ciphertext. Leave the keys empty to
# use the host's own credentials (an instance role); set the addressing style to "path" for
# servers without per-bucket host names (MinIO, a test server).
DOCUMENTS_S3_BUCKET = env.str("DOCUMENTS_S3_BUCKET", default="")
DOCUMENTS_S3_ENDPOINT_URL = env.str("DOCUMENTS_S3_ENDPOINT_URL", default="")
DOCUMENTS_S3_REGION = env.str("DOCUMENTS_S3_REGION", default="")
DOCUMENTS_S3_ACCESS_KEY_ID = env.str("DOCUMENTS_S3_ACCESS_KEY_ID", default="")
DOCUMENTS_S3_SECRET_ACCESS_KEY = env.str("DOCUMENTS_S3_SECRET_ACCESS_KEY", default="")
DOCUMENTS_S3_ADDRESSING_STYLE = env.str("DOCUMENTS_S3_ADDRESSING_STYLE", default="")


def s3_storage(
    *,
    bucket: str,
    location: str,
    endpoint_url: str = "",
    region: str = "",
    access_key: str = "",
    secret_key: str = "",
    addressing_style: str = "",
) -> dict:
    """A STORAGES entry for a private S3-compatible bucket (names under `location/`)."""
    options = {
        "bucket_name": bucket,
        "location": location,
        "default_acl": "private",
        "querystring_auth": True,
        # A name that exists is never overwritten: the vault refuses a renamed blob.
        "file_overwrite": False,
    }
    optional = {
        "endpoint_url": endpoint_url,
        "region_name": region,
        "access_key": access_key,
        "secret_key": secret_key,
        "addressing_style": addressing_style,
    }
    options.update({name: value for name, value in optional.items() if value})
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


if DOCUMENTS_S3_BUCKET:
    _S3 = {
        "bucket": DOCUMENTS_S3_BUCKET,
        "endpoint_url": DOCUMENTS_S3_ENDPOINT_URL,
        "region": DOCUMENTS_S3_REGION,
        "access_key": DOCUMENTS_S3_ACCESS_KEY_ID,
        "secret_key": DOCUMENTS_S3_SECRET_ACCESS_KEY,
        "addressing_style": DOCUMENTS_S3_ADDRESSING_STYLE,
    }
    STORAGES["documents"] = s3_storage(location="vault", **_S3)
    STORAGES["exports"] = s3_storage(location="exports", **_S3)

# The worker's own log lines (when Celery sets up logging: every run mode but production, whose
# worker logs through LOGGING above) carry the id of the request that started the work.
CELERY_WORKER_LOG_FORMAT = (
    "[%(asctime)s: %(levelname)s/%(processName)s] [%(request_id)s] %(name)s %(message)s"
)
CELERY_WORKER_TASK_LOG_FORMAT = (
    "[%(asctime)s: %(levelname)s/%(processName)s] [%(request_id)s] %(task_name)s[%(task_id)s]:"
    " %(message)s"
)
