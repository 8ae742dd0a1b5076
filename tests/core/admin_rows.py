"""Rows of every model registered in admin, made in bulk, for tests that walk the whole admin
(the changelist query counts, the role matrix). An app that registers a new model in admin adds
its row maker to ROW_MAKERS (a test fails for a registered model without one)."""

import datetime
import itertools
import uuid
from decimal import Decimal

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from accounts.models import User
from ipmart.core.models import StaffChange
from orders.models import (
    Category,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderLine,
    OrderStatus,
    PaymentAttempt,
    Product,
    ProductKind,
    TaxRate,
)
from privacy.models import AccessLog, Disclosure, PolicyVersion

_serial = itertools.count(1)


def _tag() -> str:
    return f"{next(_serial):06d}"


def make_users(n: int) -> list[User]:
    tag = _tag()
    return User.objects.bulk_create(
        User(email=f"bulk-{tag}-{i}@example.com", full_name=f"Bulk Person {tag} {i}")
        for i in range(n)
    )


def make_categories(n: int) -> list[Category]:
    tag = _tag()
    return Category.objects.bulk_create(
        Category(name=f"Category {tag} {i}", slug=f"cat-{tag}-{i}") for i in range(n)
    )


def make_products(n: int) -> list[Product]:
    tag = _tag()
    category = make_categories(1)[0]
    return Product.objects.bulk_create(
        Product(
            kind=ProductKind.LICENCE if i % 2 else ProductKind.PHYSICAL,
            name=f"Product {tag} {i}",
            slug=f"product-{tag}-{i}",
            category=category,
            price_sen=1000 + i,
        )
        for i in range(n)
    )


def make_licence_keys(n: int) -> list[LicenceKey]:
    tag = _tag()
    product = make_products(2)[1]
    orders = make_orders(1)
    line = OrderLine.objects.create(
        order=orders[0],
        product=product,
        product_name=product.name,
        kind=product.kind,
        unit_price_sen=1000,
        quantity=1,
        tax_rate_percent=Decimal("8.00"),
        tax_sen=80,
    )
    return LicenceKey.objects.bulk_create(
        LicenceKey(
            product=product,
            key=f"KEY-{tag}-{i:06d}",
            status=LicenceKeyStatus.ISSUED if i % 2 else LicenceKeyStatus.AVAILABLE,
            order_line=line if i % 2 else None,
        )
        for i in range(n)
    )


def make_orders(n: int) -> list[Order]:
    tag = _tag()
    users = make_users(min(n, 50))
    now = timezone.now()
    orders = Order.objects.bulk_create(
        Order(
            number=f"IPM-{tag[-4:]}-{i:05d}",
            user=users[i % len(users)],
            email=users[i % len(users)].email,
            status=OrderStatus.PAID if i % 3 else OrderStatus.FULFILLED,
            billing_address="1 Jalan Ampang\nKuala Lumpur",
            billing_country="MY" if i % 4 else "SG",
            subtotal_sen=10000,
            tax_sen=800,
            total_sen=10800,
            placed_at=now - datetime.timedelta(minutes=i),
            reserved_until=now,
            paid_at=now,
        )
        for i in range(n)
    )
    PaymentAttempt.objects.bulk_create(
        PaymentAttempt(
            order=order,
            merchant_reference=f"M{tag}{i:06d}",
            idempotency_key=uuid.uuid4(),
            amount_sen=10800,
            currency="MYR",
        )
        for i, order in enumerate(orders)
    )
    return orders


def make_tax_rates(n: int) -> list[TaxRate]:
    # One rate per product kind (unique): the table never grows past two rows.
    return list(TaxRate.objects.all())


def make_groups(n: int) -> list[Group]:
    tag = _tag()
    return Group.objects.bulk_create(Group(name=f"group {tag} {i}") for i in range(n))


def make_policy_versions(n: int) -> list[PolicyVersion]:
    tag = _tag()
    return PolicyVersion.objects.bulk_create(
        PolicyVersion(
            version=f"d{tag}-{i}",
            effective_date=datetime.date(2027, 1, 1),
            body_en="Text",
            body_ms="Teks",
        )
        for i in range(n)
    )


def make_access_logs(n: int) -> list[AccessLog]:
    users = make_users(2)
    return AccessLog.objects.bulk_create(
        AccessLog(
            actor=users[0],
            actor_role="store manager",
            action="viewed",
            target_type="accounts.user",
            target_id=str(users[1].pk),
            subject=users[1],
        )
        for _ in range(n)
    )


def make_disclosures(n: int) -> list[Disclosure]:
    user = make_users(1)[0]
    return Disclosure.objects.bulk_create(
        Disclosure(subject=user, recipient="Gateway", data_categories="name", purpose="payment")
        for _ in range(n)
    )


def make_staff_changes(n: int) -> list[StaffChange]:
    users = make_users(2)
    content_type = ContentType.objects.get_for_model(User)
    return StaffChange.objects.bulk_create(
        StaffChange(
            actor=users[0],
            content_type=content_type,
            object_id=str(users[1].pk),
            object_repr=users[1].email,
            action="update",
            changes={"is_staff": ["no", "yes"]},
        )
        for _ in range(n)
    )


def make_email_addresses(n: int) -> list[EmailAddress]:
    return EmailAddress.objects.bulk_create(
        EmailAddress(user=user, email=user.email, primary=True, verified=True)
        for user in make_users(n)
    )


def make_authenticators(n: int) -> list[Authenticator]:
    return Authenticator.objects.bulk_create(
        Authenticator(user=user, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "x"})
        for user in make_users(n)
    )


ROW_MAKERS = {
    "core.StaffChange": make_staff_changes,
    "orders.Category": make_categories,
    "orders.Product": make_products,
    "orders.TaxRate": make_tax_rates,
    "orders.LicenceKey": make_licence_keys,
    "orders.Order": make_orders,
    "auth.Group": make_groups,
    "accounts.User": make_users,
    "privacy.PolicyVersion": make_policy_versions,
    "privacy.AccessLog": make_access_logs,
    "privacy.Disclosure": make_disclosures,
    "account.EmailAddress": make_email_addresses,
    "mfa.Authenticator": make_authenticators,
}
