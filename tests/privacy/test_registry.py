"""The personal-data registry: every installed model (ours, Django's, allauth's) that holds
personal data is declared by its app's personal_data.py, and the declarations keep the contract."""

import re
import types

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from privacy import registry

# Models that hold no personal data although a field looks like it might. Each says why; add a
# model here (or in its app's personal_data.NO_PERSONAL_DATA) only when that is true (a model with a customer's words, contact details, IPs,
# files or a link to a person is declared in its app's personal_data.py instead).
NO_PERSONAL_DATA = {
    # The outbox carries ids and handler names only (its contract forbids personal data in
    # args); an error text quoting a person is scrubbed at closure (ipmart/core/personal_data.py).
    "core.outboxmessage": "ids and handler paths",
    # The catalogue: names, descriptions and images of products, written by staff.
    "orders.category": "catalogue",
    "orders.product": "catalogue",
    "orders.taxrate": "a tax's name and rate",
    "orders.shippingmethod": "a carrier service's name, zone, price and delivery days",
    # The published policy text, the same for everyone.
    "privacy.policyversion": "policy text",
    # Django's permission system and model registry: names of things, not people.
    "auth.permission": "permission names",
    "auth.group": "role names",
    "auth.group_permissions": "which permission a role has",
    "contenttypes.contenttype": "model names",
}

PERSONAL_NAME = re.compile(
    r"(^|_)(name|full_name|first_name|last_name|holder|email|phone|mobile|address|line1|line2|"
    r"postcode|city|ip|ip_address|user_agent)($|_)"
)


def _links_to(field, labels: set[str]) -> bool:
    return bool(field.related_model) and field.related_model._meta.label_lower in labels


def personal_reasons(model, declared: set[str]) -> list[str]:
    """Why `model` looks like it holds personal data (empty: it does not)."""
    user_label = settings.AUTH_USER_MODEL.lower()
    reasons = []
    for field in model._meta.get_fields():
        if field.auto_created and not field.concrete:
            continue  # reverse relations belong to the other side
        name = field.name
        if field.is_relation:
            if _links_to(field, {user_label}):
                reasons.append(f"{name}: link to a person")
            elif _links_to(field, declared) and not field.many_to_many:
                reasons.append(f"{name}: part of {field.related_model._meta.label} (declared)")
            continue
        if isinstance(field, models.EmailField | models.GenericIPAddressField):
            reasons.append(f"{name}: {type(field).__name__}")
        elif isinstance(field, models.FileField):
            reasons.append(f"{name}: a file")
        elif isinstance(field, models.TextField | models.JSONField):
            reasons.append(f"{name}: free text or data")
        elif PERSONAL_NAME.search(name):
            reasons.append(f"{name}: looks like a name, contact detail or address")
    return reasons


def undeclared_personal_models(declared: set[str]) -> dict[str, list[str]]:
    found = {}
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.label_lower
        if label in declared or label in NO_PERSONAL_DATA or label in registry.no_personal_data():
            continue
        if model._meta.proxy and model._meta.concrete_model._meta.label_lower in declared:
            continue  # a proxy shares its concrete model's table and declaration
        if model._meta.auto_created:
            # A many-to-many table belongs to the model declaring the field (User's groups).
            owner = model._meta.auto_created._meta.label_lower
            if owner in declared:
                continue
        reasons = personal_reasons(model, declared)
        if reasons:
            found[model._meta.label] = reasons
    return found


def test_every_model_with_personal_data_is_declared():
    # when
    missing = undeclared_personal_models(registry.declared_models())
    # then
    assert missing == {}, (
        "Declare these models in their app's personal_data.py (see the README, Personal data), "
        f"or, if they truly hold no personal data, add them to NO_PERSONAL_DATA with why: {missing}"
    )


def test_the_walk_catches_a_model_nobody_declared():
    # given the registry without the address book, and without the orders' parts
    declared = registry.declared_models() - {"accounts.address", "orders.orderline"}
    # when
    missing = undeclared_personal_models(declared)
    # then
    assert "line1: looks like a name, contact detail or address" in missing["accounts.Address"]
    assert "user: link to a person" in missing["accounts.Address"]
    assert "order: part of orders.Order (declared)" in missing["orders.OrderLine"]


def test_the_allow_list_holds_only_models_that_exist_and_are_not_declared():
    labels = {model._meta.label_lower for model in apps.get_models(include_auto_created=True)}
    assert set(NO_PERSONAL_DATA) <= labels
    assert set(NO_PERSONAL_DATA).isdisjoint(registry.declared_models())


def test_django_and_allauth_models_are_covered():
    declared = registry.declared_models()
    assert {
        "sessions.session",
        "admin.logentry",
        "account.emailaddress",
        "account.emailconfirmation",
        "mfa.authenticator",
    } <= declared


def test_discovery_finds_each_app_once_in_dependency_order_top_app_first():
    # then: support, orders, accounts, marketing, privacy as installed; apps without a module
    # (support and marketing on this branch) are simply absent
    order = [app.app_label for app in registry.discover()]
    installed = [config.label for config in apps.get_app_configs()]
    assert order == sorted(order, key=installed.index)
    assert {"orders", "accounts", "privacy"} <= set(order)
    assert order.index("orders") < order.index("accounts") < order.index("privacy")


def test_every_declaration_names_real_fields_and_a_reason_when_kept():
    for declaration in registry.declarations():
        model = declaration.model
        for name in declaration.fields:
            model._meta.get_field(name)
        if declaration.on_closure in {"keep", "anonymise"}:
            assert str(declaration.keep_reason).strip(), declaration.model_label


def test_every_retention_rule_names_a_setting_and_an_importable_function():
    rules = registry.retention_rules()
    assert {rule.name for rule in rules} >= {
        "expired data exports",
        "anonymous carts",
        "unpaid orders",
        "IP addresses in old records",
        "orders of closed accounts past retention",
    }
    for rule in rules:
        assert isinstance(rule.period, int), rule.setting


def _module(**attributes):
    module = types.ModuleType("example.personal_data")
    module.export_user = lambda user: {}
    module.erase_user = lambda user: None
    module.DECLARATIONS = [
        {
            "model": "accounts.Address",
            "fields": ["line1"],
            "category": "Addresses",
            "on_closure": "erase",
        }
    ]
    for name, value in attributes.items():
        setattr(module, name, value)
    return module


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"erase_user": None}, "defines no erase_user"),
        ({"DECLARATIONS": []}, "DECLARATIONS is a non-empty list"),
        (
            {
                "DECLARATIONS": [
                    {"model": "accounts.Nope", "fields": [], "category": "x", "on_closure": "erase"}
                ]
            },
            "unknown model",
        ),
        (
            {
                "DECLARATIONS": [
                    {
                        "model": "accounts.Address",
                        "fields": ["shoe_size"],
                        "category": "x",
                        "on_closure": "erase",
                    }
                ]
            },
            "has no field 'shoe_size'",
        ),
        (
            {
                "DECLARATIONS": [
                    {
                        "model": "accounts.Address",
                        "fields": [],
                        "category": "x",
                        "on_closure": "keep",
                    }
                ]
            },
            "states its keep_reason",
        ),
        (
            {"DECLARATIONS": [{"model": "accounts.Address", "fields": [], "category": "x"}]},
            "lacks on_closure",
        ),
        (
            {"RETENTION_RULES": [{"name": "x", "setting": "NO_SUCH_SETTING", "run": "os.getcwd"}]},
            "is not a setting",
        ),
        (
            {"RETENTION_RULES": [{"name": "x", "setting": "DEBUG", "run": "nowhere.at_all"}]},
            "cannot import",
        ),
    ],
)
def test_a_module_breaking_the_contract_is_refused_with_the_reason(change, message):
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        registry.load_module("example", _module(**change))


def test_optional_keys_are_kept_and_optional_hooks_are_found():
    # given a declaration with a key the contract does not name, and a hook
    module = _module(consent_history=lambda user: [])
    module.DECLARATIONS[0]["shown_in_centre"] = False
    # when
    loaded = registry.load_module("example", module)
    # then
    assert loaded.declarations[0].extra == {"shown_in_centre": False}
    assert loaded.hook("consent_history") is module.consent_history
    assert loaded.hook("stop_direct_marketing") is None


def test_manage_py_check_reports_a_broken_declaration(monkeypatch):
    from privacy.checks import personal_data_declarations

    assert personal_data_declarations(None) == []

    def broken():
        raise ImproperlyConfigured("example.personal_data: defines no erase_user(user)")

    monkeypatch.setattr(registry, "discover", broken)
    [error] = personal_data_declarations(None)
    assert (error.id, error.msg) == (
        "privacy.E001",
        "example.personal_data: defines no erase_user(user)",
    )
