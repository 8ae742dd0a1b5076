"""TOTP secrets are stored encrypted (accounts.adapters.MFAAdapter) and keys can rotate."""

import json
import time

import pytest
from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    TOTP,
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from accounts.roles import STORE_MANAGER
from tests.factories.accounts import PASSWORD, StaffFactory

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _tolerate_one_period(settings):
    # A code computed at the very end of a 30 s period is checked in the next one; accepting the
    # neighbouring periods keeps these tests from failing once in a few thousand runs.
    settings.MFA_TOTP_TOLERANCE = 1


def valid_codes(secret: str) -> set[str]:
    return {format_hotp_value(hotp_value(secret, c)) for c in yield_hotp_counters_from_time()}


def current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def wrong_code(secret: str) -> str:
    candidates = ("000000", "111111", "222222", "333333")
    return next(code for code in candidates if code not in valid_codes(secret))


def raw_column(user) -> str:
    """The data column exactly as the database returns it, without the model's JSON decoding."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data FROM mfa_authenticator WHERE user_id = %s AND type = 'totp'", [user.pk]
        )
        (value,) = cursor.fetchone()
    return value if isinstance(value, str) else json.dumps(value)


def stored_data(user) -> dict:
    """The TOTP authenticator's data column as the database holds it."""
    return (
        Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP)
        .values_list("data", flat=True)
        .get()
    )


def test_totp_activated_through_allauths_pages_is_stored_encrypted(client):
    # given a store manager signed in with their password
    manager = StaffFactory(email="manager@ipmart.com.my", role=STORE_MANAGER)
    response = client.post(
        "/accounts/login/", {"login": "manager@ipmart.com.my", "password": PASSWORD}
    )
    assert response.status_code == 302

    # when they open the activation page, confirm their password as allauth asks,
    activate = "/accounts/2fa/totp/activate/"
    response = client.get(activate)
    assert response["Location"] == (
        "/accounts/reauthenticate/?next=%2Faccounts%2F2fa%2Ftotp%2Factivate%2F"
    )
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD, "next": activate})
    assert (response.status_code, response["Location"]) == (302, activate)
    # and enter the code their app shows
    page = client.get(activate)
    assert page.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    response = client.post(activate, {"code": current_code(secret)})

    # then TOTP is on, and the database holds the secret only encrypted
    assert response.status_code == 302
    data = stored_data(manager)
    assert data["secret"].startswith("fernet:")
    assert secret.lower() not in raw_column(manager).lower()
    assert get_adapter().decrypt(data["secret"]) == secret
    # and the recovery codes' seed is encrypted the same way
    codes = Authenticator.objects.get(user=manager, type=Authenticator.Type.RECOVERY_CODES)
    assert codes.data["seed"].startswith("fernet:")
    # and the admin opens for them now
    assert client.get("/admin/").status_code == 200


def test_totp_activate_stores_the_secret_encrypted_and_still_validates_codes():
    # given
    manager = StaffFactory(role=STORE_MANAGER)

    # when
    totp = TOTP.activate(manager, SECRET)

    # then the stored value is not the secret, decrypts to it, and allauth validates codes with it
    data = stored_data(manager)
    assert list(data) == ["secret"]
    assert data["secret"].startswith("fernet:")
    assert SECRET.lower() not in raw_column(manager).lower()
    assert get_adapter().decrypt(data["secret"]) == SECRET
    reloaded = TOTP(Authenticator.objects.get(pk=totp.instance.pk))
    assert reloaded.validate_code(current_code(SECRET)) is True
    assert reloaded.validate_code(wrong_code(SECRET)) is False


def test_encrypting_twice_gives_different_ciphertexts():
    # when
    first, second = get_adapter().encrypt(SECRET), get_adapter().encrypt(SECRET)

    # then (Fernet uses a fresh IV) both decrypt to the secret
    assert first != second
    assert get_adapter().decrypt(first) == get_adapter().decrypt(second) == SECRET


@pytest.mark.parametrize("stored", [SECRET, "", "gAAAAAB-not-prefixed", "FERNET:" + SECRET])
def test_a_value_without_the_prefix_is_refused(stored):
    # when / then
    with pytest.raises(ValueError, match="An MFA secret is not encrypted; refusing to use it."):
        get_adapter().decrypt(stored)


def test_a_value_encrypted_with_an_unknown_key_is_refused(settings):
    # given a value encrypted under key A
    settings.MFA_ENCRYPTION_KEYS = [KEY_A]
    encrypted = get_adapter().encrypt(SECRET)

    # when only key B is configured
    settings.MFA_ENCRYPTION_KEYS = [KEY_B]

    # then
    with pytest.raises(ValueError, match="cannot be decrypted with the configured keys"):
        get_adapter().decrypt(encrypted)


def test_a_tampered_value_is_refused():
    # given
    encrypted = get_adapter().encrypt(SECRET)
    tampered = encrypted[:-5] + ("AAAAA" if not encrypted.endswith("AAAAA") else "BBBBB")

    # when / then
    with pytest.raises(ValueError, match="cannot be decrypted with the configured keys"):
        get_adapter().decrypt(tampered)


def test_keys_rotate_old_values_still_decrypt_new_values_use_the_first_key(settings):
    # given a secret encrypted under key A
    settings.MFA_ENCRYPTION_KEYS = [KEY_A]
    under_a = get_adapter().encrypt(SECRET)

    # when key B is added in front
    settings.MFA_ENCRYPTION_KEYS = [KEY_B, KEY_A]

    # then the old value still decrypts
    assert get_adapter().decrypt(under_a) == SECRET
    # and a new value is encrypted under B (B alone reads it, A alone does not)
    under_b = get_adapter().encrypt(SECRET)
    settings.MFA_ENCRYPTION_KEYS = [KEY_B]
    assert get_adapter().decrypt(under_b) == SECRET
    settings.MFA_ENCRYPTION_KEYS = [KEY_A]
    with pytest.raises(ValueError):
        get_adapter().decrypt(under_b)


def test_an_authenticator_saved_under_the_old_key_still_validates_after_rotation(settings):
    # given TOTP activated while only key A existed
    settings.MFA_ENCRYPTION_KEYS = [KEY_A]
    manager = StaffFactory(role=STORE_MANAGER)
    TOTP.activate(manager, SECRET)

    # when the keys rotate
    settings.MFA_ENCRYPTION_KEYS = [KEY_B, KEY_A]

    # then the stored authenticator still checks codes
    totp = TOTP(Authenticator.objects.get(user=manager, type=Authenticator.Type.TOTP))
    assert totp.validate_code(current_code(SECRET)) is True


@pytest.mark.parametrize("operation", ["encrypt", "decrypt"])
def test_without_keys_nothing_is_encrypted_or_decrypted(settings, operation):
    # given
    settings.MFA_ENCRYPTION_KEYS = []

    # when / then
    with pytest.raises(ImproperlyConfigured, match="MFA_ENCRYPTION_KEYS must hold at least one"):
        getattr(get_adapter(), operation)("fernet:" + SECRET)
