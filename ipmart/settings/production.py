"""Production: every secret comes from the environment and the store refuses to start without it."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import REDIS_URL, env_bool, env_list, gateway_form_action


def required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in the environment for production.")
    return value


DEBUG = False
SECRET_KEY = required("SECRET_KEY")
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in the environment for production.")
required("DATABASE_URL")
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DATABASE_CONN_MAX_AGE", "60"))  # noqa: F405
required("REDIS_URL")
MFA_ENCRYPTION_KEYS = [
    key.strip() for key in required("MFA_ENCRYPTION_KEYS").split(",") if key.strip()
]
if not MFA_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("MFA_ENCRYPTION_KEYS must hold at least one Fernet key.")
STAFF_MFA_REQUIRED = True
DOCUMENT_KEYS = [key.strip() for key in required("DOCUMENT_KEYS").split(",") if key.strip()]
# Fails at start for a malformed key, not at the first upload.
from privacy.keys import parse_master_keys  # noqa: E402

parse_master_keys(DOCUMENT_KEYS)
GATEWAY_ENDPOINT = required("GATEWAY_ENDPOINT")
GATEWAY_MERCHANT_ID = required("GATEWAY_MERCHANT_ID")
GATEWAY_API_KEY_ID = required("GATEWAY_API_KEY_ID")
GATEWAY_SECRET_API_KEY = required("GATEWAY_SECRET_API_KEY")
GATEWAY_WEBHOOK_KEY_ID = required("GATEWAY_WEBHOOK_KEY_ID")
GATEWAY_WEBHOOK_SECRET = required("GATEWAY_WEBHOOK_SECRET")
GATEWAY_REDIRECT_PREFIX = os.environ.get("GATEWAY_REDIRECT_PREFIX", "https://payment.")
GATEWAY_ALLOWED_REDIRECT_HOSTS = env_list("GATEWAY_ALLOWED_REDIRECT_HOSTS")
if not GATEWAY_ALLOWED_REDIRECT_HOSTS:
    raise ImproperlyConfigured(
        "GATEWAY_ALLOWED_REDIRECT_HOSTS must be set in the environment for production."
    )
GATEWAY_ALLOW_HTTP_REDIRECT = False
CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] = gateway_form_action(  # noqa: F405
    GATEWAY_ALLOWED_REDIRECT_HOSTS, GATEWAY_ALLOW_HTTP_REDIRECT
)

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
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

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

if not REDIS_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured("REDIS_URL must be a redis:// or rediss:// URL in production.")
