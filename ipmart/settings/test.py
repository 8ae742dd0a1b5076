"""Test settings: PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set (CI sets both),
SQLite and an in-process cache otherwise."""

import os
from pathlib import Path

from .base import *  # noqa: F403
from .base import REDIS_URL

SECRET_KEY = "test-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MFA_ENCRYPTION_KEYS = ["Ns1ezwnGtzZqwEIYVDQ7QisiExdH5YAxvxyCl-UvT_0="]
STAFF_MFA_REQUIRED = True
DOCUMENT_KEYS = ["test-1:Tm90LWEtcmVhbC1rZXktb25seS1mb3ItdGVzdHMhISE="]
CELERY_TASK_ALWAYS_EAGER = True
if REDIS_URL:
    CACHES["default"]["KEY_PREFIX"] = "ipmart-test"  # noqa: F405
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "exports": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
}

if DATABASES["default"].get("ENGINE") == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not shared-cache memory: the live server's threads (a webhook racing the
    # customer's return) then wait for SQLite's write lock instead of failing at once.
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.gettempdir()) / f"ipmart-test-{os.getpid()}.sqlite3")
    }

# The document vault writes to a folder of this test process, never into the checkout's var/.
import tempfile  # noqa: E402

DOCUMENT_STORAGE_DIR = Path(tempfile.gettempdir()) / f"ipmart-test-vault-{os.getpid()}"

# The inbound email webhook's tests sign Mailgun payloads with this key.
ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "test-mailgun-signing-key"}
