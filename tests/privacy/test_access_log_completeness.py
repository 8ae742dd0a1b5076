"""Every admin page that shows a customer's name or email writes the access log: the test opens
every registered admin's list, search, object page and history as each staff role and the
superuser, and fails when the customer is shown without a row naming them."""

import pytest
from django.conf import settings
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from accounts.roles import ROLE_PERMISSIONS
from privacy.models import AccessLog
from tests.factories import staff_client
from tests.factories.personal_data import customer_with_data_everywhere

pytestmark = pytest.mark.django_db

VIEWERS = [*sorted(ROLE_PERMISSIONS), "superuser"]


def _object_about(model, customer):
    user_model = settings.AUTH_USER_MODEL.lower()
    if model._meta.label_lower == user_model:
        return customer
    for field in model._meta.concrete_fields:
        if field.is_relation and field.related_model._meta.label_lower == user_model:
            found = model._default_manager.filter(**{field.name: customer}).first()
            if found is not None:
                return found
    return model._default_manager.order_by("pk").first()


def admin_pages(customer):
    for model, model_admin in admin.site._registry.items():
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        yield reverse(f"{info}_changelist")
        if model_admin.search_fields:
            # part of the address: the search box echoes the term, which is not data shown
            yield reverse(f"{info}_changelist") + f"?q={customer.email.split('@')[0]}"
        obj = _object_about(model, customer)
        if obj is not None:
            for page in ("change", "history"):
                try:
                    yield reverse(f"{info}_{page}", args=[obj.pk])
                except NoReverseMatch:
                    pass


@pytest.mark.parametrize("role", VIEWERS)
def test_no_admin_page_shows_a_customer_without_logging_it(role):
    # given a customer with data everywhere, and a member of staff in `role`
    person = customer_with_data_everywhere("kemboja")
    customer = person.user
    superuser = role == "superuser"
    client = staff_client(None if superuser else role, is_superuser=superuser)[1]
    shown, unlogged = [], []
    for path in admin_pages(customer):
        before = AccessLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        # when
        response = client.get(path)
        if response.status_code != 200:
            continue
        html = response.content.decode()
        # then a page showing the customer's email or name wrote a row naming them
        if person.email in html or person.full_name in html:
            shown.append(path)
            if not AccessLog.objects.filter(pk__gt=before, subject=customer).exists():
                unlogged.append(path)
    assert unlogged == []
    if role in {"store manager", "superuser", "data protection officer"}:
        assert shown, "the walk must reach pages with personal data"
