"""The keyed hash that identifies an address on the suppression list. HMAC-SHA256 of the
normalised address with MARKETING_SUPPRESSION_KEY: the list can be checked without keeping
addresses, and without the key nobody can test guesses against it."""

import hashlib
import hmac

from django.conf import settings


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_hash(email: str) -> str:
    key = (settings.MARKETING_SUPPRESSION_KEY or settings.SECRET_KEY).encode("utf-8")
    return hmac.new(key, normalise_email(email).encode("utf-8"), hashlib.sha256).hexdigest()
