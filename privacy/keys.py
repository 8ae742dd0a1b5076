"""Master keys of the document vault, parsed from `DOCUMENT_KEYS` (importable from settings:
no models here)."""

import base64
import os
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = 32


@dataclass(frozen=True)
class MasterKey:
    key_id: str
    secret: bytes


def parse_master_keys(entries: Iterable[str]) -> list[MasterKey]:
    """`["2026-11:base64…", "2026-05:base64…"]` → MasterKeys, newest first. Raises
    ImproperlyConfigured for a malformed entry (a key must be 32 bytes)."""
    keys = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        key_id, sep, encoded = entry.partition(":")
        if not sep or not key_id or len(key_id) > 40:
            raise ImproperlyConfigured("DOCUMENT_KEYS entries are 'key-id:base64-key'.")
        try:
            secret = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError as error:
            raise ImproperlyConfigured(f"DOCUMENT_KEYS key {key_id!r} is not base64.") from error
        if len(secret) != KEY_BYTES:
            raise ImproperlyConfigured(f"DOCUMENT_KEYS key {key_id!r} must be 32 bytes.")
        keys.append(MasterKey(key_id, secret))
    if len({key.key_id for key in keys}) != len(keys):
        raise ImproperlyConfigured("DOCUMENT_KEYS has two keys with the same id.")
    return keys


def new_master_key(key_id: str) -> str:
    """A fresh `DOCUMENT_KEYS` entry (for operators and tests)."""
    return f"{key_id}:" + base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()
