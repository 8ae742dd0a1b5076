"""The personal-data registry: what every app holds about a person, discovered at run time.

Each installed app that holds personal data has `<app>/personal_data.py` (the contract is in the
README, "Personal data"): `DECLARATIONS`, `export_user(user)`, `erase_user(user)`, and optionally
`export_files(user)` and `RETENTION_RULES`. This module finds them the way the admin finds
`admin.py`, checks them, and offers the three things privacy does with them: export a person,
close (anonymise) a person, and run the retention rules. `privacy` imports no app directly.

Optional keys a declaration may add: "summary" (a sentence in plain words shown for its
category in the privacy centre). An app may also list, in `NO_PERSONAL_DATA = {"app.Model":
"why"}`, its models that look personal to the registry test but hold no personal data.
`erase_user(user)` gets the user as it was before closure: no app changes the object passed in
(accounts anonymises its own copy), so an app after accounts still sees the old email, e.g. to
suppress it; the person's identifiers, collected before any app erases through the optional
`personal_identifiers(user)` hooks, are available to every app's `erase_user` through
`ipmart.core.erasure.identifiers_of(user)` to clean staff-written free text. Optional hooks an app may add (never required): `consent_history(user) -> list[dict]` (rows with
"at", "topic", "action", "source": shown in the privacy centre) and `stop_direct_marketing(user)
-> int` (called by the centre's "stop all direct marketing" button).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import transaction
from django.utils.module_loading import import_string

from ipmart.core.erasure import Identifiers, erasing

MODULE_NAME = "personal_data"
ON_CLOSURE = ("erase", "anonymise", "keep")
REQUIRED_KEYS = ("model", "fields", "category", "on_closure")


@dataclass(frozen=True)
class Declaration:
    app_label: str
    model_label: str  # "app_label.ModelName" as written in the declaration
    fields: tuple[str, ...]
    category: Any  # a lazy translation: shown in the customer's language
    on_closure: str
    keep_reason: Any = ""
    retention_setting: str = ""
    extra: dict = field(default_factory=dict)  # optional keys an app adds

    @property
    def model(self):
        return apps.get_model(self.model_label)


@dataclass(frozen=True)
class RetentionRule:
    app_label: str
    name: str
    setting: str
    run_path: str

    def run(self, *, now, dry_run: bool) -> list[str]:
        return list(import_string(self.run_path)(now=now, dry_run=dry_run))

    @property
    def period(self):
        return getattr(settings, self.setting)


@dataclass(frozen=True)
class AppDeclarations:
    app_label: str
    module: ModuleType
    declarations: tuple[Declaration, ...]
    retention_rules: tuple[RetentionRule, ...]

    def hook(self, name: str) -> Callable | None:
        function = getattr(self.module, name, None)
        return function if callable(function) else None


def _fail(module: str, message: str) -> None:
    raise ImproperlyConfigured(f"{module}: {message}")


def _load_declaration(app_label: str, where: str, entry: Any) -> Declaration:
    if not isinstance(entry, dict):
        _fail(where, f"each declaration is a dict, got {entry!r}")
    missing = [key for key in REQUIRED_KEYS if key not in entry]
    if missing:
        _fail(where, f"declaration {entry.get('model')!r} lacks {', '.join(missing)}")
    try:
        model = apps.get_model(entry["model"])
    except (LookupError, ValueError):
        _fail(where, f"unknown model {entry['model']!r}")
    fields = tuple(entry["fields"])
    for name in fields:
        try:
            model._meta.get_field(name)
        except FieldDoesNotExist:
            _fail(where, f"{entry['model']} has no field {name!r}")
    if entry["on_closure"] not in ON_CLOSURE:
        _fail(where, f"{entry['model']}: on_closure must be one of {ON_CLOSURE}")
    keep_reason = entry.get("keep_reason", "")
    if entry["on_closure"] in {"keep", "anonymise"} and not str(keep_reason).strip():
        _fail(where, f"{entry['model']}: a kept or anonymised model states its keep_reason")
    setting_name = entry.get("retention_setting", "")
    if setting_name and not hasattr(settings, setting_name):
        _fail(where, f"{entry['model']}: retention_setting {setting_name!r} is not a setting")
    known = {*REQUIRED_KEYS, "keep_reason", "retention_setting"}
    return Declaration(
        app_label=app_label,
        model_label=model._meta.label,
        fields=fields,
        category=entry["category"],
        on_closure=entry["on_closure"],
        keep_reason=keep_reason,
        retention_setting=setting_name,
        extra={key: value for key, value in entry.items() if key not in known},
    )


def _load_rule(app_label: str, where: str, entry: Any) -> RetentionRule:
    if not isinstance(entry, dict) or not {"name", "setting", "run"} <= set(entry):
        _fail(where, f"a retention rule has name, setting and run: {entry!r}")
    if not hasattr(settings, entry["setting"]):
        _fail(where, f"rule {entry['name']!r}: {entry['setting']!r} is not a setting")
    try:
        import_string(entry["run"])
    except ImportError as error:
        _fail(where, f"rule {entry['name']!r}: cannot import {entry['run']!r} ({error})")
    return RetentionRule(app_label, entry["name"], entry["setting"], entry["run"])


def load_module(app_label: str, module: ModuleType) -> AppDeclarations:
    """Check one app's personal_data module against the contract and wrap it."""
    where = module.__name__
    for name in ("export_user", "erase_user"):
        if not callable(getattr(module, name, None)):
            _fail(where, f"defines no {name}(user)")
    entries = getattr(module, "DECLARATIONS", None)
    if not isinstance(entries, list | tuple) or not entries:
        _fail(where, "DECLARATIONS is a non-empty list")
    declarations = tuple(_load_declaration(app_label, where, entry) for entry in entries)
    rules = tuple(
        _load_rule(app_label, where, entry) for entry in getattr(module, "RETENTION_RULES", [])
    )
    return AppDeclarations(app_label, module, declarations, rules)


@functools.cache
def discover() -> tuple[AppDeclarations, ...]:
    """Every installed app's declarations, in INSTALLED_APPS order. That order follows the
    dependency direction (support, orders, accounts, marketing, privacy: the top app first),
    which is the order closure erases in: an app's rows go before the rows they point to."""
    found = []
    for app_config in apps.get_app_configs():
        dotted = f"{app_config.name}.{MODULE_NAME}"
        if importlib.util.find_spec(app_config.name) is None:
            continue
        try:
            spec = importlib.util.find_spec(dotted)
        except ModuleNotFoundError:
            spec = None
        if spec is None:
            continue
        found.append(load_module(app_config.label, importlib.import_module(dotted)))
    return tuple(found)


def declarations() -> list[Declaration]:
    return [declaration for app in discover() for declaration in app.declarations]


def declared_models() -> set[str]:
    """Labels ("app_label.ModelName", lower case) of every declared model."""
    return {declaration.model._meta.label_lower for declaration in declarations()}


def no_personal_data() -> dict[str, str]:
    """Models the apps say hold no personal data ("app_label.modelname" lower case: why)."""
    found = {}
    for app in discover():
        for label, why in (getattr(app.module, "NO_PERSONAL_DATA", None) or {}).items():
            found[apps.get_model(label)._meta.label_lower] = str(why)
    return found


def retention_rules() -> list[RetentionRule]:
    return [rule for app in discover() for rule in app.retention_rules]


def categories() -> list[dict]:
    """What the store holds, per category, for the privacy centre: the category, its plain-words
    `summary` (an optional declaration key), the models' field names (verbose, translated) and
    what closure does to them."""
    grouped: dict[str, dict] = {}
    for declaration in declarations():
        key = str(declaration.category)
        entry = grouped.setdefault(
            key,
            {
                "category": declaration.category,
                "summary": "",
                "fields": [],
                "on_closure": set(),
                "reasons": [],
            },
        )
        if declaration.extra.get("summary") and not entry["summary"]:
            entry["summary"] = declaration.extra["summary"]
        model = declaration.model
        for name in declaration.fields:
            label = str(getattr(model._meta.get_field(name), "verbose_name", name))
            if label not in entry["fields"]:
                entry["fields"].append(label)
        entry["on_closure"].add(declaration.on_closure)
        reason = str(declaration.keep_reason)
        if reason and reason not in entry["reasons"]:
            entry["reasons"].append(reason)
    return list(grouped.values())


def export_user(user) -> dict[str, dict[str, list[dict]]]:
    """Every app's rows about `user`, keyed by app label then model name."""
    return {app.app_label: app.module.export_user(user) for app in discover()}


def export_files(user) -> Iterator[tuple[str, bytes]]:
    """Every app's downloadable files about `user`, as (app_label/path, bytes)."""
    for app in discover():
        hook = app.hook("export_files")
        if hook is None:
            continue
        for path, data in hook(user) or ():
            yield f"{app.app_label}/{path.lstrip('/')}", data


def erase_user(user) -> list[str]:
    """Delete or anonymise everything about `user`, every app in one transaction, top app
    first. Returns the app labels in the order they ran. Any app raising rolls all back."""
    done = []
    with transaction.atomic(), erasing(user, personal_identifiers(user)):
        for app in discover():
            app.module.erase_user(user)
            done.append(app.app_label)
    return done


def personal_identifiers(user) -> Identifiers:
    """The person's identifiers (emails, names, phones, address lines) from every app's optional
    `personal_identifiers(user) -> {"values": [...], "names": [...]}` hook, collected before any
    app erases; each app's `erase_user` removes them from its free text
    (`ipmart.core.erasure.identifiers_of`)."""
    values = [user.email, getattr(user, "phone", "")]
    names = [getattr(user, "full_name", "")]
    for app in discover():
        hook = app.hook("personal_identifiers")
        if hook is not None:
            found = hook(user) or {}
            values += list(found.get("values", ()))
            names += list(found.get("names", ()))
    return Identifiers.from_values(values, names=names)


def consent_history(user) -> list[dict] | None:
    """Rows of every app's `consent_history(user)` hook, newest first; None when no installed
    app keeps consent (the centre then says so instead of showing an empty ledger)."""
    hooks = [app.hook("consent_history") for app in discover() if app.hook("consent_history")]
    if not hooks:
        return None
    rows = [row for hook in hooks for row in hook(user) or ()]
    return sorted(rows, key=lambda row: row.get("at") or "", reverse=True)


def can_stop_direct_marketing() -> bool:
    return any(app.hook("stop_direct_marketing") for app in discover())


def stop_direct_marketing(user) -> int:
    """Call every app's `stop_direct_marketing(user)` hook; the total they report."""
    total = 0
    for app in discover():
        hook = app.hook("stop_direct_marketing")
        if hook is not None:
            total += int(hook(user) or 0)
    return total
