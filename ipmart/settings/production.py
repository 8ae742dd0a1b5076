"""Production: every secret comes from the environment and the store refuses to start without it,
or with one of the development keys that ship in this repository."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import REDIS_URL, env, env_bool, env_list, gateway_form_action

# Keys written in this repository (local, test, bench settings): never valid in production.
DEVELOPMENT_SECRET_KEYS = {
    "local-development-only-not-secret",
    "test-only-not-secret",
    "bench-only-not-secret",
    "build",
}
DEVELOPMENT_FERNET_KEYS = {
    "T6mMslsdSEuBKohd3EUSKkrbJ_FdfmOqSNRxY3ip0aY=",
    "Ns1ezwnGtzZqwEIYVDQ7QisiExdH5YAxvxyCl-UvT_0=",
}
# The document vault's development keys (local, test, bench settings), whatever their key id.
DEVELOPMENT_DOCUMENT_KEYS = {
    "3q1xwQ0zJ4k8l0wPq0o3oA8s1mY0n6n9hVv2rUu0K2E=",
    "Tm90LWEtcmVhbC1rZXktb25seS1mb3ItdGVzdHMhISE=",
    "YmVuY2gtb25seS1rZXktbm90LXNlY3JldC0zMmJ5dGU=",
}


def required(name: str) -> str:
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in the environment for production.")
    return value


DEBUG = False
SECRET_KEY = required("SECRET_KEY")
if SECRET_KEY in DEVELOPMENT_SECRET_KEYS or SECRET_KEY.startswith("django-insecure"):
    raise ImproperlyConfigured("SECRET_KEY is a development key: generate a new one.")
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in the environment for production.")
required("DATABASE_URL")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)  # noqa: F405
required("REDIS_URL")
MFA_ENCRYPTION_KEYS = [
    key.strip() for key in required("MFA_ENCRYPTION_KEYS").split(",") if key.strip()
]
if not MFA_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("MFA_ENCRYPTION_KEYS must hold at least one Fernet key.")
if DEVELOPMENT_FERNET_KEYS & set(MFA_ENCRYPTION_KEYS):
    raise ImproperlyConfigured("MFA_ENCRYPTION_KEYS holds a development key: generate a new one.")
STAFF_MFA_REQUIRED = True
DOCUMENT_KEYS = [key.strip() for key in required("DOCUMENT_KEYS").split(",") if key.strip()]
# Fails at start for a malformed key, not at the first upload.
from privacy.keys import parse_master_keys  # noqa: E402

parse_master_keys(DOCUMENT_KEYS)
if DEVELOPMENT_DOCUMENT_KEYS & {key.partition(":")[2] for key in DOCUMENT_KEYS}:
    raise ImproperlyConfigured("DOCUMENT_KEYS holds a development key: generate a new one.")
GATEWAY_ENDPOINT = required("GATEWAY_ENDPOINT")
GATEWAY_MERCHANT_ID = required("GATEWAY_MERCHANT_ID")
GATEWAY_API_KEY_ID = required("GATEWAY_API_KEY_ID")
GATEWAY_SECRET_API_KEY = required("GATEWAY_SECRET_API_KEY")
GATEWAY_WEBHOOK_KEY_ID = required("GATEWAY_WEBHOOK_KEY_ID")
GATEWAY_WEBHOOK_SECRET = required("GATEWAY_WEBHOOK_SECRET")
GATEWAY_REDIRECT_PREFIX = env.str("GATEWAY_REDIRECT_PREFIX", default="https://payment.")
GATEWAY_ALLOWED_REDIRECT_HOSTS = env_list("GATEWAY_ALLOWED_REDIRECT_HOSTS")
if not GATEWAY_ALLOWED_REDIRECT_HOSTS:
    raise ImproperlyConfigured(
        "GATEWAY_ALLOWED_REDIRECT_HOSTS must be set in the environment for production."
    )
GATEWAY_ALLOW_HTTP_REDIRECT = False
CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] = gateway_form_action(  # noqa: F405
    GATEWAY_ALLOWED_REDIRECT_HOSTS, GATEWAY_ALLOW_HTTP_REDIRECT
)

LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING["handlers"]["console"]["formatter"] = "json" if LOG_FORMAT == "json" else "plain"  # noqa: F405
# The worker and beat log through the same handler (JSON lines), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"

# TLS ends at the reverse proxy. Django does not read X-Forwarded-Proto itself (any client could
# send it): gunicorn turns it into the request's scheme only for connections from the proxy's
# address (FORWARDED_ALLOW_IPS, see docker-compose.yml), so SECURE_PROXY_SSL_HEADER stays unset.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# base's other storages (the data archives' private folder, a "documents" entry if added) stay.
STORAGES = {
    **STORAGES,  # noqa: F405
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

if not REDIS_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured("REDIS_URL must be a redis:// or rediss:// URL in production.")

# The vault's S3-compatible bucket (optional): a key id without its secret (or the reverse) is
# a typo that would otherwise surface at the first upload.
if bool(DOCUMENTS_S3_ACCESS_KEY_ID) != bool(DOCUMENTS_S3_SECRET_ACCESS_KEY):  # noqa: F405
    raise ImproperlyConfigured(
        "DOCUMENTS_S3_ACCESS_KEY_ID and DOCUMENTS_S3_SECRET_ACCESS_KEY go together: set both, or"
        " neither to use the host's own credentials."
    )
