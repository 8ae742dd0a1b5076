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
from ipmart.core.models import OutboxMessage, StaffChange
from marketing.models import (
    Campaign,
    ConsentAction,
    ConsentMethod,
    ConsentRecord,
    Subscriber,
    Suppression,
    SuppressionReason,
    Topic,
    TopicVersion,
)
from orders.models import (
    Category,
    DocumentKind,
    DocumentStatus,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderLine,
    OrderStatus,
    PaymentAttempt,
    Product,
    ProductKind,
    ShippingMethod,
    ShippingZone,
    TaxRate,
    VerificationDocument,
)
from privacy.models import (
    AccessLog,
    Breach,
    DataRequest,
    DataRequestKind,
    Disclosure,
    PolicyVersion,
)
from support.models import (
    Category as InquiryCategory,
)
from support.models import (
    FaqEntry,
    FaqTopic,
    InboundEmail,
    InboundStatus,
    Inquiry,
    Macro,
    Status,
)

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


def make_shipping_methods(n: int) -> list[ShippingMethod]:
    zones = ShippingZone.values
    start = ShippingMethod.objects.count()  # called again for the larger list: new names
    return ShippingMethod.objects.bulk_create(
        ShippingMethod(
            zone=zones[i % len(zones)], name=f"Method {i:05d}", price_sen=500 + i, position=i
        )
        for i in range(start, start + n)
    )


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


def make_outbox_messages(n: int) -> list[OutboxMessage]:
    return OutboxMessage.objects.bulk_create(
        OutboxMessage(handler="ipmart.core.tasks.relay_outbox_task", args=[i]) for i in range(n)
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


# --- verification documents (issue 7) ---------------------------------------------------------


def make_orders_awaiting_verification(n: int) -> list[Order]:
    orders = make_orders(n)
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(
        status=OrderStatus.ON_HOLD, verification_flagged=True
    )
    make_documents_for(orders)
    return orders


def make_documents_for(orders) -> list[VerificationDocument]:
    return VerificationDocument.objects.bulk_create(
        VerificationDocument(
            order=order,
            kind=DocumentKind.CARD_STATEMENT,
            status=DocumentStatus.PENDING,
            content_type="application/pdf",
            original_name=f"statement-{i}.pdf",
        )
        for i, order in enumerate(orders)
    )


def make_verification_documents(n: int) -> list[VerificationDocument]:
    return make_documents_for(make_orders(n))


# --- marketing (issue 8) ---------------------------------------------------------------------


def make_topics(n: int) -> list[Topic]:
    tag = _tag()
    topics = Topic.objects.bulk_create(
        Topic(code=f"topic-{tag}-{i}", position=100 + i) for i in range(n)
    )
    versions = TopicVersion.objects.bulk_create(
        TopicVersion(
            topic=topic,
            number=1,
            name_en=f"Topic {tag} {i}",
            name_ms=f"Topik {tag} {i}",
            consent_text_en="Send me news.",
            consent_text_ms="Hantar berita.",
            content_hash="0" * 64,
        )
        for i, topic in enumerate(topics)
    )
    for topic, version in zip(topics, versions, strict=True):
        topic.current_version = version
    Topic.objects.bulk_update(topics, ["current_version"])
    return topics


def make_campaigns(n: int) -> list[Campaign]:
    tag = _tag()
    topic = make_topics(1)[0]
    return Campaign.objects.bulk_create(
        Campaign(
            name=f"Campaign {tag} {i}",
            topic=topic,
            subject_en="News",
            subject_ms="Berita",
            body_text_en="Hello {{ unsubscribe_url }}",
            body_text_ms="Hai {{ unsubscribe_url }}",
            body_html_en="<p>Hello</p>",
            body_html_ms="<p>Hai</p>",
        )
        for i in range(n)
    )


def make_consent_records(n: int) -> list[ConsentRecord]:
    topic = make_topics(1)[0]
    users = make_users(min(n, 50))
    subscribers = Subscriber.objects.bulk_create(Subscriber(user=user) for user in users)
    return ConsentRecord.objects.bulk_create(
        ConsentRecord(
            subscriber=subscribers[i % len(subscribers)],
            topic=topic,
            version=topic.current_version,
            text_hash="0" * 64,
            action=ConsentAction.GRANTED,
            method=ConsentMethod.SIGNUP,
        )
        for i in range(n)
    )


def make_suppressions(n: int) -> list[Suppression]:
    tag = _tag()
    return Suppression.objects.bulk_create(
        Suppression(email_hash=f"{tag}{i:058d}", reason=SuppressionReason.HARD_BOUNCE)
        for i in range(n)
    )


# --- customer service (issue 9) --------------------------------------------------------------


def make_inquiries(n: int) -> list[Inquiry]:
    tag = _tag()
    users = make_users(min(n, 50))
    now = timezone.now()
    return Inquiry.objects.bulk_create(
        Inquiry(
            reference=f"Q-{tag}-{i:05d}",
            user=users[i % len(users)] if i % 2 else None,
            name=f"Asker {i}",
            email=f"asker-{tag}-{i}@example.com",
            category=InquiryCategory.ORDER,
            subject=f"Question {i}",
            status=Status.NEW if i % 2 else Status.OPEN,
            first_response_due=now + datetime.timedelta(hours=8 - i % 16),
            resolution_due=now + datetime.timedelta(hours=48),
        )
        for i in range(n)
    )


def make_inbound_emails(n: int) -> list[InboundEmail]:
    tag = _tag()
    inquiries = make_inquiries(min(n, 50))
    return InboundEmail.objects.bulk_create(
        InboundEmail(
            provider_event_id=f"event-{tag}-{i}",
            inquiry=inquiries[i % len(inquiries)],
            from_address=f"sender-{i}@example.com",
            subject="Re: question",
            body="Thanks",
            status=InboundStatus.HELD,
        )
        for i in range(n)
    )


def make_macros(n: int) -> list[Macro]:
    tag = _tag()
    return Macro.objects.bulk_create(
        Macro(name=f"Macro {tag} {i}", body="Done.", body_ms="Siap.", sets_status=Status.RESOLVED)
        for i in range(n)
    )


def make_faq_topics(n: int) -> list[FaqTopic]:
    tag = _tag()
    return FaqTopic.objects.bulk_create(
        FaqTopic(name=f"FAQ {tag} {i}", name_ms=f"Soalan {tag} {i}") for i in range(n)
    )


def make_faq_entries(n: int) -> list[FaqEntry]:
    topic = make_faq_topics(1)[0]
    return FaqEntry.objects.bulk_create(
        FaqEntry(
            topic=topic,
            question=f"Question {i}?",
            answer="Answer.",
            question_ms=f"Soalan {i}?",
            answer_ms="Jawapan.",
        )
        for i in range(n)
    )


# --- data protection (issue 10) --------------------------------------------------------------


def make_data_requests(n: int) -> list[DataRequest]:
    users = make_users(min(n, 50))
    today = timezone.localdate()
    kinds = [DataRequestKind.EXPORT, DataRequestKind.CORRECTION, DataRequestKind.OBJECTION]
    return DataRequest.objects.bulk_create(
        DataRequest(
            user=users[i % len(users)],
            kind=kinds[i % len(kinds)],
            channel="staff",
            details="Please.",
            due_on=today + datetime.timedelta(days=i % 21),
        )
        for i in range(n)
    )


def make_breaches(n: int) -> list[Breach]:
    tag = _tag()
    return Breach.objects.bulk_create(
        Breach(
            reference=f"B-{tag}-{i}",
            summary="A laptop was lost",
            data_categories="names",
            discovered_at=timezone.now(),
        )
        for i in range(n)
    )


ROW_MAKERS = {
    "marketing.Topic": make_topics,
    "marketing.Campaign": make_campaigns,
    "marketing.ConsentRecord": make_consent_records,
    "marketing.Suppression": make_suppressions,
    "orders.OrderAwaitingVerification": make_orders_awaiting_verification,
    "orders.VerificationDocument": make_verification_documents,
    "privacy.Breach": make_breaches,
    "privacy.DataRequest": make_data_requests,
    "support.Inquiry": make_inquiries,
    "support.InboundEmail": make_inbound_emails,
    "support.Macro": make_macros,
    "support.FaqTopic": make_faq_topics,
    "support.FaqEntry": make_faq_entries,
    "core.StaffChange": make_staff_changes,
    "core.OutboxMessage": make_outbox_messages,
    "orders.Category": make_categories,
    "orders.Product": make_products,
    "orders.TaxRate": make_tax_rates,
    "orders.ShippingMethod": make_shipping_methods,
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
