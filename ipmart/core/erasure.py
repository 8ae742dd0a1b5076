"""Removing a person's identifiers from free text at account closure.

Staff write about customers in free text (an order event's note, a refund reason, an internal
note, a data request's answer, a breach entry) and such text may name the customer, quote their
email, phone or address. At closure each app's `erase_user` replaces those identifiers, in every
text column of its rows linked to the person, with `PLACEHOLDER`.

The identifiers are collected once, before any app erases anything (the address book is gone by
the time apps after accounts run): `privacy.registry.erase_user` calls every app's optional
`personal_identifiers(user)` hook and runs the apps inside `erasing(user, identifiers)`; an app
reads them with `identifiers_of(user)`. Called outside a closure (a unit test of one app),
`identifiers_of` falls back to what the user row itself carries.

Matching is case-insensitive: emails, address lines and the full name as substrings; name parts
(3 characters or more) as whole words, so "Ali" does not eat "Quality"; phone numbers whatever the
spacing, dashes or dots between digits, with or without the country code 60.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import models

PLACEHOLDER = "[removed]"
MIN_PART = 3

_current: contextvars.ContextVar[dict[Any, Identifiers] | None] = contextvars.ContextVar(
    "closure_identifiers", default=None
)


@dataclass(frozen=True)
class Identifiers:
    """A person's identifiers as one compiled pattern (None: nothing to look for)."""

    texts: tuple[str, ...]  # emails, full names, address lines: matched as substrings
    words: tuple[str, ...]  # name parts: matched as whole words
    phones: tuple[str, ...]  # digits only

    @classmethod
    def from_values(cls, values: Iterable[str], *, names: Iterable[str] = ()) -> Identifiers:
        """`values`: emails, phones and address lines (a value with 7+ digits and nothing but
        digits and separators is taken as a phone); `names`: full names, split into parts too."""
        texts, words, phones = set(), set(), set()
        for value in values:
            value = (value or "").strip()
            if not value:
                continue
            digits = re.sub(r"\D", "", value)
            if len(digits) >= 7 and re.fullmatch(r"[+\d\s().\-/]+", value):
                phones.add(digits)
            elif len(value) >= MIN_PART:
                texts.add(value)
        for name in names:
            name = (name or "").strip()
            if len(name) >= MIN_PART:
                texts.add(name)
            words.update(part for part in re.split(r"[\s,.]+", name) if len(part) >= MIN_PART)
        return cls(tuple(sorted(texts)), tuple(sorted(words)), tuple(sorted(phones)))

    def without_name_parts(self) -> Identifiers:
        """Only the specific identifiers (emails, full names, address lines, phones): what may
        be looked for outside the rows linked to the person without hitting other people."""
        return Identifiers(self.texts, (), self.phones)

    def search_fragments(self) -> list[str]:
        """Substrings a row must contain (any of them, case-insensitively) to possibly match:
        for a database pre-filter; `found_in` then decides."""
        return [*self.texts, *self.words, *(digits[-4:] for digits in self.phones)]

    @property
    def pattern(self) -> re.Pattern[str] | None:
        return _compile(self)

    def redact(self, text: str) -> str:
        """`text` with every identifier replaced by PLACEHOLDER."""
        pattern = self.pattern
        if pattern is None or not text:
            return text
        return pattern.sub(PLACEHOLDER, text)

    def found_in(self, text: str) -> bool:
        pattern = self.pattern
        return bool(pattern is not None and text and pattern.search(text))

    def redact_value(self, value: Any) -> Any:
        """Strings inside dicts and lists (JSON columns) redacted; other values as they are."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {key: self.redact_value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.redact_value(item) for item in value]
        return value


def _phone_regex(digits: str) -> list[str]:
    variants = {digits}
    if digits.startswith("60") and len(digits) > 9:
        variants.add("0" + digits[2:])  # 60 12-… written locally as 012-…
    elif digits.startswith("0"):
        variants.add("60" + digits[1:])
    separator = r"[\s().\-/]*"
    return [r"\+?" + separator.join(re.escape(digit) for digit in variant) for variant in variants]


_cache: dict[Identifiers, re.Pattern[str] | None] = {}


def _compile(identifiers: Identifiers) -> re.Pattern[str] | None:
    if identifiers in _cache:
        return _cache[identifiers]
    alternatives = [re.escape(text) for text in sorted(identifiers.texts, key=len, reverse=True)]
    alternatives += [rf"\b{re.escape(word)}\b" for word in identifiers.words]
    for digits in identifiers.phones:
        alternatives += _phone_regex(digits)
    pattern = re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None
    if len(_cache) > 64:
        _cache.clear()
    _cache[identifiers] = pattern
    return pattern


def fallback_identifiers(user: Any) -> Identifiers:
    """What the user row carries: email, name and phone."""
    return Identifiers.from_values(
        [getattr(user, "email", ""), getattr(user, "phone", "")],
        names=[getattr(user, "full_name", "")],
    )


@contextlib.contextmanager
def erasing(user: Any, identifiers: Identifiers) -> Iterator[None]:
    """Make `identifiers` what `identifiers_of(user)` returns while the apps erase."""
    known = dict(_current.get() or {})
    known[user.pk] = identifiers
    token = _current.set(known)
    try:
        yield
    finally:
        _current.reset(token)


def identifiers_of(user: Any) -> Identifiers:
    known = _current.get() or {}
    return known.get(user.pk) or fallback_identifiers(user)


def scrub_rows(queryset: models.QuerySet, fields: Iterable[str], identifiers: Identifiers) -> int:
    """Replace the person's identifiers in `fields` (text or JSON) of every row of `queryset`
    (rows linked to the person: small). Returns how many rows changed."""
    fields = list(fields)
    changed = []
    for row in queryset.only("pk", *fields):
        dirty = False
        for name in fields:
            old = getattr(row, name)
            new = identifiers.redact_value(old)
            if new != old:
                setattr(row, name, new)
                dirty = True
        if dirty:
            changed.append(row)
    if changed:
        queryset.model._default_manager.bulk_update(changed, fields, batch_size=500)
    return len(changed)
