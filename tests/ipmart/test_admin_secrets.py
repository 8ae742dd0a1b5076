"""Secret fields (models' SECRET_FIELDS) cannot be guessed through any admin: every registered
ModelAdmin, as every staff role and a superuser, refuses `__startswith`, `__contains`,
`__regex`, `__gt` and exact lookups on each secret field and on every relation path reaching
one, never orders by one through `?o=`, and never searches one."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.views.main import ORDER_VAR
from django.urls import reverse

from accounts.roles import ROLE_PERMISSIONS
from ipmart.core.admin_secrets import (
    check_admins_hide_secret_fields,
    reaches_secret,
    secret_fields,
)
from orders.models import LicenceKey, LicenceKeyStatus
from tests.factories import (
    LicenceKeyFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    StaffFactory,
    UserFactory,
    enrolled_in_mfa,
)

pytestmark = pytest.mark.django_db

LOOKUPS = ["__startswith", "__contains", "__regex", "__gt", ""]
SECRET_MODELS = [model for model in apps.get_models() if secret_fields(model)]
MAX_HOPS = 4


def secret_paths(model, depth: int = MAX_HOPS, seen=()) -> list[str]:
    """Every lookup path from `model` to a secret field, through up to `depth` relations."""
    paths = [name for name in secret_fields(model)]
    if depth == 0:
        return paths
    for field in model._meta.get_fields():
        if not field.is_relation or field.related_model is None or field.related_model in seen:
            continue
        name = field.name  # a reverse relation's name is its query name
        for tail in secret_paths(field.related_model, depth - 1, (*seen, model)):
            paths.append(f"{name}__{tail}")
    return paths


def staff_members():
    users = {role: enrolled_in_mfa(StaffFactory(role=role)) for role in ROLE_PERMISSIONS}
    users["superuser"] = enrolled_in_mfa(UserFactory(is_staff=True, is_superuser=True))
    return users


@pytest.fixture
def sold_key():
    product = ProductFactory(licence=True)
    order = OrderFactory(status="fulfilled")
    line = OrderLineFactory(order=order, product=product)
    return LicenceKeyFactory(
        product=product,
        key="BQ7XK-SECRET-KEY-0001",
        status=LicenceKeyStatus.ISSUED,
        order_line=line,
    )


def test_licence_keys_are_declared_secret():
    assert LicenceKey in SECRET_MODELS and secret_fields(LicenceKey) == ("key",)
    assert reaches_secret(LicenceKey, "key__startswith") == "orders.LicenceKey.key"
    assert reaches_secret(LicenceKey, "-key") == "orders.LicenceKey.key"
    assert reaches_secret(LicenceKey, "product__name") is None


def test_the_walk_reaches_keys_from_other_admins():
    from orders.models import Order, Product

    assert "licence_keys__key" in secret_paths(Product)
    assert "lines__licence_keys__key" in secret_paths(Order)


def test_no_registered_admin_declares_a_secret_field():
    assert check_admins_hide_secret_fields() == []


@pytest.mark.parametrize("who", [*ROLE_PERMISSIONS, "superuser"])
def test_every_admin_refuses_lookups_and_ordering_on_secret_fields(client, sold_key, who):
    client.force_login(staff_members()[who])
    tried = refused = 0
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        baseline = client.get(url)
        if baseline.status_code == 403:
            continue  # this role cannot open this admin at all: no oracle
        assert baseline.status_code == 200, (url, baseline.status_code)
        for path in secret_paths(model):
            for lookup in LOOKUPS:
                for value in ("B", sold_key.key, "BQ7XK-SECRET-KEY-0001"):
                    tried += 1
                    answer = client.get(url, {path + lookup: value})
                    # refused outright: the answer does not depend on the secret
                    assert answer.status_code == 400, (who, url, path + lookup, answer.status_code)
                    refused += 1
        # ordering by each column, both ways: never by a secret field
        for index in range(len(model_admin.list_display)):
            for order in (str(index), f"-{index}"):
                answer = client.get(url, {ORDER_VAR: order})
                assert answer.status_code == 200, (url, order)
                ordering = answer.context["cl"].queryset.query.order_by
                assert not [o for o in ordering if reaches_secret(model, str(o))], (url, ordering)
        # search never reaches a secret field: the key's prefix finds what any text finds
        if model_admin.search_fields:
            found = client.get(url, {"q": sold_key.key[:5]}).context["cl"].result_count
            assert found == client.get(url, {"q": "#nothing#"}).context["cl"].result_count
    assert tried == refused


def test_a_careless_admin_is_caught_by_check_and_guarded_at_runtime(rf):
    """An admin someone writes later that searches, filters and sorts by the key: the system
    check names it, and even unchecked the requests cannot use the key."""

    class CarelessKeyAdmin(admin.ModelAdmin):
        list_display = ["key", "status"]
        search_fields = ["key"]
        list_filter = ["key"]
        ordering = ["key"]

        def lookup_allowed(self, lookup, value, request=None):  # no super(): still refused
            return True

    site = admin.AdminSite(name="careless")
    site.register(LicenceKey, CarelessKeyAdmin)
    model_admin = site._registry[LicenceKey]
    # the check (run on the default site) would report it
    from django.contrib import admin as admin_module

    original = admin_module.site._registry.copy()
    admin_module.site._registry[LicenceKey] = model_admin
    try:
        ids = sorted({error.id for error in check_admins_hide_secret_fields()})
    finally:
        admin_module.site._registry.clear()
        admin_module.site._registry.update(original)
    assert ids == ["admin.E901", "admin.E902"]
    # and at runtime: the search ignores the key, ordering by its column is ignored
    superuser = UserFactory(is_staff=True, is_superuser=True)
    LicenceKeyFactory(key="ZZZZZ-ONLY")
    request = rf.get("/", {"q": "ZZZZZ", ORDER_VAR: "0"})
    request.user = superuser
    changelist = model_admin.get_changelist_instance(request)
    # the search did not filter by the key: the answer is the same whatever q is
    assert changelist.result_count == LicenceKey.objects.count() == 1
    assert model_admin.get_search_fields(request) == []
    assert changelist.get_ordering_field("key") is None
    request = rf.get("/", {"key__startswith": "Z"})
    request.user = superuser
    from django.contrib.admin.exceptions import DisallowedModelAdminLookup

    with pytest.raises(DisallowedModelAdminLookup):
        model_admin.get_changelist_instance(request)
