"""Every staff change goes through a service and leaves one audit row naming who, when and
old → new; the trail is read-only in admin and shown per record and per staff member."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse

from accounts.models import User
from ipmart.core.models import StaffChange
from orders.models import Product, TaxRate
from privacy.models import PolicyVersion
from tests.factories import ProductFactory, StaffFactory, UserFactory, enrolled_in_mfa

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return enrolled_in_mfa(StaffFactory(role="store manager", email="mohan@ipmart.test"))


@pytest.fixture
def superuser():
    return enrolled_in_mfa(UserFactory(is_staff=True, is_superuser=True, email="root@ipmart.test"))


def _product_form(product, **changes):
    data = {
        "kind": product.kind,
        "name": product.name,
        "slug": product.slug,
        "category": product.category_id,
        "summary": product.summary,
        "description": product.description,
        "price_sen": "100.00",
        "stock": product.stock,
        "is_active": "on",
        "key_pattern": "",
        "key_low_threshold": 10,
        # the images inline's management form (no image added)
        "images-TOTAL_FORMS": 0,
        "images-INITIAL_FORMS": 0,
        "images-MIN_NUM_FORMS": 0,
        "images-MAX_NUM_FORMS": 1000,
    }
    data.update(changes)
    return data


def test_a_price_typed_in_ringgit_is_stored_in_sen_and_audited_old_to_new(client, manager):
    # given a product at RM 100.00
    product = ProductFactory(price_sen=10000)
    client.force_login(manager)
    url = reverse("admin:orders_product_change", args=[product.pk])
    assert 'value="100.00"' in client.get(url).content.decode()
    # when the manager types "RM 1,642.74"
    response = client.post(url, _product_form(product, price_sen="RM 1,642.74"))
    # then
    assert response.status_code == 302
    assert Product.objects.get(pk=product.pk).price_sen == 164274
    change = StaffChange.objects.get()
    assert (change.actor, change.action, change.object_id) == (manager, "update", str(product.pk))
    assert change.changes == {"price_sen": ["RM 100.00", "RM 1,642.74"]}


def test_a_price_with_a_fraction_of_a_sen_is_refused_and_nothing_changes(client, manager):
    product = ProductFactory(price_sen=10000)
    client.force_login(manager)
    url = reverse("admin:orders_product_change", args=[product.pk])
    response = client.post(url, _product_form(product, price_sen="12.345"))
    assert response.status_code == 200
    assert "Enter an amount in ringgit" in response.content.decode()
    assert Product.objects.get(pk=product.pk).price_sen == 10000
    assert StaffChange.objects.count() == 0


def test_a_tax_rate_change_is_audited(client, manager):
    rate = TaxRate.objects.get(kind="physical")
    client.force_login(manager)
    response = client.post(
        reverse("admin:orders_taxrate_change", args=[rate.pk]),
        {"kind": "physical", "name": rate.name, "rate_percent": "6.00"},
    )
    assert response.status_code == 302
    change = StaffChange.objects.get()
    assert change.changes == {"rate_percent": ["10.00", "6.00"]}
    assert change.actor == manager


def _user_form(user, **changes):
    data = {
        "email": user.email,
        "full_name": user.full_name,
        "phone": "",
        "preferred_language": "en",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "addresses-TOTAL_FORMS": "0",
        "addresses-INITIAL_FORMS": "0",
        "addresses-MIN_NUM_FORMS": "0",
        "addresses-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_user_admin_edits_go_through_the_service_with_allauth_email_and_one_audit_row(
    client, superuser, django_capture_on_commit_callbacks
):
    # given a customer with a verified allauth address
    person = UserFactory(email="aina@example.com", full_name="Aina")
    support = Group.objects.get(name="support agent")
    client.force_login(superuser)
    # when a superuser makes them staff, a support agent, and changes their email
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:accounts_user_change", args=[person.pk]),
            _user_form(person, email="aina.new@example.com", is_staff="on", groups=[support.pk]),
        )
    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    person.refresh_from_db()
    assert (person.email, person.is_staff) == ("aina.new@example.com", True)
    assert list(person.groups.values_list("name", flat=True)) == ["support agent"]
    addresses = list(
        EmailAddress.objects.filter(user=person).values_list("email", "primary", "verified")
    )
    assert addresses == [("aina.new@example.com", True, False)]
    assert [m.to for m in mail.outbox] == [["aina.new@example.com"]]
    change = StaffChange.objects.get()
    assert change.actor == superuser
    assert change.changes == {
        "email": ["aina@example.com", "aina.new@example.com"],
        "groups": ["", "support agent"],
        "is_staff": ["no", "yes"],
    }


def test_a_policy_draft_saved_in_admin_is_audited(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("admin:privacy_policyversion_add"),
        {
            "version": "2027-01-01",
            "effective_date": "2027-01-01",
            "summary": "New",
            "body_en": "Text",
            "body_ms": "Teks",
        },
    )
    assert response.status_code == 302
    policy = PolicyVersion.objects.get(version="2027-01-01")
    change = StaffChange.objects.get()
    assert (change.action, change.object_id, change.actor) == ("create", str(policy.pk), manager)
    assert change.changes["version"] == ["", "2027-01-01"]


def test_the_trail_is_read_only_in_admin_and_filtered_per_staff_member(client, manager):
    # given two changes by two people
    product = ProductFactory(price_sen=10000)
    other = enrolled_in_mfa(StaffFactory(role="store manager"))
    for who, price in [(manager, "1.00"), (other, "2.00")]:
        client.force_login(who)
        client.post(
            reverse("admin:orders_product_change", args=[product.pk]),
            _product_form(product, price_sen=price),
        )
    client.force_login(manager)
    # when the manager opens the trail filtered on themselves
    url = reverse("admin:core_staffchange_changelist") + f"?actor__id__exact={manager.pk}"
    body = client.get(url).content.decode()
    # then only their change is listed, and nothing can be added, changed or deleted
    assert "RM 1.00" in body and "RM 2.00" not in body
    change = StaffChange.objects.filter(actor=manager).get()
    assert client.get(reverse("admin:core_staffchange_add")).status_code == 403
    detail = client.post(reverse("admin:core_staffchange_change", args=[change.pk]), {})
    assert detail.status_code == 403
    assert StaffChange.objects.count() == 2
    # and the product's History shows both, newest first
    history = client.get(reverse("admin:orders_product_history", args=[product.pk]))
    text = history.content.decode()
    assert text.index("RM 2.00") < text.index("RM 100.00")
    # and the admin home lists the manager's own recent change
    home = client.get(reverse("admin:index")).content.decode()
    assert "Your recent changes" in home and product.name in home


def test_a_user_with_no_change_records_writes_no_row():
    from ipmart.core.audit import record_staff_change

    user = User.objects.create_user("x@example.com", full_name="X")
    assert record_staff_change(None, user, action="update", changes={}) is None
    assert StaffChange.objects.count() == 0


def test_the_trail_is_exported_with_a_persons_data_by_them_and_about_them(manager):
    from ipmart.core import personal_data
    from ipmart.core.audit import record_staff_change

    person = UserFactory(email="aina@example.com")
    record_staff_change(manager, person, action="update", changes={"is_staff": ["no", "yes"]})
    record_staff_change(manager, ProductFactory(), action="update", changes={"a": ["1", "2"]})
    about = personal_data.export_user(person)["StaffChange"]
    by = personal_data.export_user(manager)["StaffChange"]
    assert [(row["object_repr"], row["by_you"]) for row in about] == [
        (f"account {person.pk}", False)
    ]
    assert [row["by_you"] for row in by] == [True, True]
