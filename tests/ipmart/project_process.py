"""Run this project's Python in a child process with exactly the environment a test chooses
(settings are read once per process, so run modes are compared in fresh processes)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Everything the store reads from the environment is dropped first, so the parent's
# DATABASE_URL, REDIS_URL, ... never leak into a child that should not see them.
_STORE_VARIABLE = (
    "DJANGO_",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_",
    "DEBUG",
    "DATABASE_",
    "REDIS_URL",
    "CELERY_",
    "CACHE_",
    "MFA_",
    "STAFF_MFA",
    "GATEWAY_",
    "EMAIL_",
    "DEFAULT_FROM_EMAIL",
    "SECURE_",
    "TRUSTED_PROXY",
    "IPMART_",
    "ACCOUNT_",
    "SITE_URL",
    "ORDER_",
    "PAYMENT_",
    "LOG_LEVEL",
    "REQUIRE_SERVICES",
    "DOCUMENTS_S3_",
)


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(_STORE_VARIABLE)}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
