"""Production settings pass Django's deployment checks and refuse to start without their
secrets; the models and the migrations agree."""

import base64
import secrets

import pytest
from cryptography.fernet import Fernet

from .project_process import run

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "ipmart.settings.production",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "shop.example.com",
    # A closed port: the checks must not need the database.
    "DATABASE_URL": "postgres://ipmart:unused@127.0.0.1:1/ipmart",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "MFA_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "GATEWAY_ENDPOINT": "https://eu.api-ingenico.com",
    "GATEWAY_MERCHANT_ID": "1234",
    "GATEWAY_API_KEY_ID": "api-key-id",
    "GATEWAY_SECRET_API_KEY": secrets.token_urlsafe(32),
    "GATEWAY_WEBHOOK_KEY_ID": "webhook-key-id",
    "GATEWAY_WEBHOOK_SECRET": secrets.token_urlsafe(32),
    "GATEWAY_ALLOWED_REDIRECT_HOSTS": ".worldline-solutions.com",
    "DOCUMENT_KEYS": "prod-1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
}
SETUP = ["-c", "import django; django.setup(); print('started')"]


def test_production_settings_pass_the_deployment_checks():
    # when
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV)
    # then
    assert result.stdout == "System check identified no issues (0 silenced).\n", result.stderr
    assert result.returncode == 0


def test_production_starts_with_every_required_variable():
    # when
    result = run(SETUP, PRODUCTION_ENV)
    # then
    assert (result.returncode, result.stdout) == (0, "started\n"), result.stderr


REQUIRED = [
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "MFA_ENCRYPTION_KEYS",
    "GATEWAY_ENDPOINT",
    "GATEWAY_SECRET_API_KEY",
    "GATEWAY_WEBHOOK_SECRET",
    "GATEWAY_ALLOWED_REDIRECT_HOSTS",
    "DOCUMENT_KEYS",
]


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("how", ["unset", "empty"])
def test_production_refuses_to_start_without_a_required_variable(name, how):
    # given
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != name}
    if how == "empty":
        env[name] = ""
    # when
    result = run(SETUP, env)
    # then
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "django.core.exceptions.ImproperlyConfigured: " in result.stderr
    assert f"{name} must be set in the environment for production." in result.stderr


def test_production_refuses_a_redis_url_that_is_not_redis():
    # given
    env = {**PRODUCTION_ENV, "REDIS_URL": "memcached://127.0.0.1:11211"}
    # when
    result = run(SETUP, env)
    # then
    assert result.returncode != 0
    assert "REDIS_URL must be a redis:// or rediss:// URL in production." in result.stderr


def test_production_refuses_mfa_encryption_keys_that_hold_no_key():
    # given
    env = {**PRODUCTION_ENV, "MFA_ENCRYPTION_KEYS": " , "}
    # when
    result = run(SETUP, env)
    # then
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "MFA_ENCRYPTION_KEYS must hold at least one Fernet key." in result.stderr


def test_production_refuses_allowed_hosts_that_hold_no_host():
    # given
    env = {**PRODUCTION_ENV, "ALLOWED_HOSTS": " , "}
    # when
    result = run(SETUP, env)
    # then
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_the_migrations_match_the_models(tmp_path):
    # given: test settings on a throwaway SQLite database
    env = {"DJANGO_SETTINGS_MODULE": "ipmart.settings.test", "IPMART_VAR_DIR": str(tmp_path)}
    # when
    result = run(["manage.py", "makemigrations", "--check", "--dry-run"], env)
    # then
    assert result.stdout == "No changes detected\n", result.stdout + result.stderr
    assert result.returncode == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECRET_KEY", "local-development-only-not-secret"),
        ("SECRET_KEY", "django-insecure-abc"),
        ("MFA_ENCRYPTION_KEYS", "T6mMslsdSEuBKohd3EUSKkrbJ_FdfmOqSNRxY3ip0aY="),
        ("DOCUMENT_KEYS", "test-1:Tm90LWEtcmVhbC1rZXktb25seS1mb3ItdGVzdHMhISE="),
        ("DOCUMENT_KEYS", "prod-2:3q1xwQ0zJ4k8l0wPq0o3oA8s1mY0n6n9hVv2rUu0K2E="),
    ],
)
def test_production_refuses_a_development_key(name, value):
    # when
    result = run(SETUP, {**PRODUCTION_ENV, name: value})
    # then
    assert result.returncode != 0
    assert f"{name} " in result.stderr and "development key" in result.stderr


@pytest.mark.parametrize("entry", ["manage.py", "ipmart/celery.py", "ipmart/wsgi.py"])
def test_every_entry_point_picks_settings_the_same_way(entry):
    # local unless DJANGO_SETTINGS_MODULE says otherwise (the image and compose say production)
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / entry).read_text()
    assert 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipmart.settings.local")' in text


def test_production_keeps_the_private_storages_of_base():
    # the data archives' storage (privacy.exports) survives production's static files backend
    result = run(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            " print(sorted(settings.STORAGES), settings.STORAGES['exports']['OPTIONS']['base_url'])",
        ],
        PRODUCTION_ENV,
    )
    assert result.stdout == "['default', 'exports', 'staticfiles'] None\n", result.stderr
