"""The embedded default for `make run`: SQLite, eager tasks, email written to var/mail/."""

import os

os.environ.setdefault("DEBUG", "1")

from .base import *  # noqa: E402,F403
from .base import VAR_DIR, env_bool  # noqa: E402

DEBUG = env_bool("DEBUG", True)
# A fixed, clearly-marked development key: local mode never serves real customers.
SECRET_KEY = SECRET_KEY or "local-development-only-not-secret"  # noqa: F405
ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]"]  # noqa: F405
EMAIL_BACKEND = "ipmart.core.mail.EmlFileBackend"
STAFF_MFA_REQUIRED = env_bool("STAFF_MFA_REQUIRED", False)
MFA_ENCRYPTION_KEYS = MFA_ENCRYPTION_KEYS or [  # noqa: F405
    "T6mMslsdSEuBKohd3EUSKkrbJ_FdfmOqSNRxY3ip0aY="  # local demo only
]
DOCUMENT_KEYS = DOCUMENT_KEYS or [  # noqa: F405
    "local-demo:3q1xwQ0zJ4k8l0wPq0o3oA8s1mY0n6n9hVv2rUu0K2E="  # local demo only
]
VAR_DIR.mkdir(parents=True, exist_ok=True)
