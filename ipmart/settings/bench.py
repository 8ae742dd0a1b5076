"""`make bench`: production-like (DEBUG off, no debug toolbar of any kind), no secrets needed,
plus one bare view to compare every page with."""

import os

from .base import *  # noqa: F403
from .base import VAR_DIR

DEBUG = False
SECRET_KEY = "bench-only-not-secret"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "ipmart.bench_urls"
MFA_ENCRYPTION_KEYS = ["T6mMslsdSEuBKohd3EUSKkrbJ_FdfmOqSNRxY3ip0aY="]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DOCUMENT_KEYS = DOCUMENT_KEYS or ["bench:YmVuY2gtb25seS1rZXktbm90LXNlY3JldC0zMmJ5dGU="]  # noqa: F405
DOCUMENT_STORAGE_DIR = VAR_DIR / "bench-vault"
if not os.environ.get("DATABASE_URL"):
    DATABASES["default"]["NAME"] = VAR_DIR / "bench.sqlite3"  # noqa: F405
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405 - as production: persistent connections
