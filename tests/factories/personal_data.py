"""A customer with rows in every declared model of every app on this branch, for the export
and closure tests. The personal values are distinctive so a scan of every table finds them."""

import datetime
import uuid
from dataclasses import dataclass

from allauth.account.models import EmailAddress, EmailConfirmation
from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import User
from ipmart.core.audit import record_staff_change
from marketing.models import ConsentMethod, Delivery
from marketing.services import subscribe_topic, unsubscribe_all
from orders.models import (
    AttemptStatus,
    DocumentKind,
    Fulfilment,
    LicenceKey,
    LicenceKeyStatus,
    OrderEmail,
    OrderEvent,
    OrderStatus,
    Refund,
    RefundLine,
    Shipment,
    WebhookEvent,
)
from orders.services.verification import upload_document
from privacy.intake import validate_upload
from privacy.models import AcceptanceMethod, AccessAction, DataExport, PolicyVersion
from privacy.rights import list_affected_customers, record_breach
from privacy.services import accept_policy, log_access, open_data_request, record_disclosure
from support.models import InboundEmail, Notification

from . import documents
from .accounts import AddressFactory, StaffFactory, TOTPAuthenticatorFactory, UserFactory
from .marketing import CampaignFactory
from .marketing import topic as marketing_topic
from .orders import (
    OrderFactory,
    OrderLineFactory,
    PaymentAttemptFactory,
    ProductFactory,
    cart_with,
)
from .support import InquiryFactory, attach_file


@dataclass
class Person:
    user: User
    email: str
    full_name: str
    phone: str
    address_lines: list[str]
    order_numbers: list[str]

    @property
    def needles(self) -> list[str]:
        return [self.email, self.full_name, self.phone, *self.address_lines]


def login_session(user) -> str:
    store = import_string(settings.SESSION_ENGINE + ".SessionStore")()
    store["_auth_user_id"] = str(user.pk)
    store["_auth_user_backend"] = "accounts.auth_backends.PasswordBackend"
    store["_auth_user_hash"] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def customer_with_data_everywhere(tag: str = "zulaikha") -> Person:
    """A customer with an account, addresses, login rows, a cart, a paid and shipped order
    (keys issued, a refund, a gateway webhook naming the card holder) and privacy records."""
    full_name = f"{tag.title()} Binti Scanfield"
    email = f"{tag}.scan@example.com"
    phone = f"+60 12-{abs(hash(tag)) % 1000:03d} 7788"
    user = UserFactory(email=email, full_name=full_name, phone=phone)
    address = AddressFactory(
        user=user,
        full_name=full_name,
        line1=f"77 Jalan {tag.title()}line",
        line2=f"Taman {tag.title()} Indah",
        phone=phone,
    )
    address_lines = [address.line1, address.line2]
    confirmation = EmailConfirmation.create(EmailAddress.objects.get(user=user))
    confirmation.sent = timezone.now()
    confirmation.save()
    TOTPAuthenticatorFactory(user=user)
    login_session(user)
    staff = StaffFactory(role="store manager")
    LogEntry.objects.create(
        user=staff,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(user.pk),
        object_repr=str(user),
        action_flag=CHANGE,
        change_message='[{"changed": {"fields": ["Phone"]}}]',
    )

    # orders
    cart_with(user, (ProductFactory(), 2))
    now = timezone.now()
    order = OrderFactory(
        user=user,
        status=OrderStatus.FULFILLED,
        paid_at=now,
        billing_address="\n".join([full_name, *address_lines, "50450 Kuala Lumpur"]),
        shipping_address="\n".join([full_name, *address_lines, "50450 Kuala Lumpur"]),
    )
    line = OrderLineFactory(order=order)
    LicenceKey.objects.create(
        product=line.product,
        key=f"{tag.upper()}-KEY-0001",
        status=LicenceKeyStatus.ISSUED,
        order_line=line,
        issued_at=now,
    )
    OrderEvent.objects.create(order=order, kind="paid", message="Payment captured.")
    attempt = PaymentAttemptFactory(order=order, status=AttemptStatus.PAID)
    WebhookEvent.objects.create(
        event_id=str(uuid.uuid4()),
        event_type="payment.captured",
        key_id="sandbox-webhook-key",
        payload={
            "type": "payment.captured",
            "payment": {
                "id": "000001",
                "paymentOutput": {
                    "references": {"merchantReference": attempt.merchant_reference},
                    "cardPaymentMethodSpecificOutput": {
                        "card": {
                            "cardNumber": "************1111",
                            "expiryDate": "1230",
                            "cardholderName": full_name,
                        }
                    },
                },
            },
        },
    )
    Fulfilment.objects.create(order=order)
    OrderEmail.objects.create(order=order, kind="confirmation")
    Shipment.objects.create(order=order, carrier="Pos Laju", tracking_number="EE123456789MY")
    # marketing: a topic subscribed, a campaign delivered, then "unsubscribe from everything"
    subscription = subscribe_topic(
        user, topic=marketing_topic("new-products"), ip_address="203.0.113.9"
    )
    Delivery.objects.create(
        campaign=CampaignFactory(), subscriber=subscription.subscriber, status="sent", sent_at=now
    )
    unsubscribe_all(subscription.subscriber, method=ConsentMethod.PREFERENCE_CENTRE)
    # an inquiry to customer service, with an attachment, an email reply and a sent notification
    inquiry = InquiryFactory(user=user, subject=f"Question from {full_name}", body=f"Call {phone}")
    message = inquiry.messages.get()
    attach_file(message, "receipt.png")
    InboundEmail.objects.create(
        provider_event_id=str(uuid.uuid4()),
        inquiry=inquiry,
        from_address=email,
        subject="Re: my key",
        body=f"Thanks, {full_name}",
        status="added",
    )
    Notification.objects.create(key=f"ack-{inquiry.pk}", inquiry=inquiry, sent_at=now)
    # a second order held for verification, with an identity document in the vault
    held = OrderFactory(user=user, status=OrderStatus.ON_HOLD, paid_at=now)
    upload_document(
        held,
        kind=DocumentKind.IDENTITY,
        clean=validate_upload(documents.upload("identity.png", documents.png(40, 30))),
        acting_user=user,
    )
    refund = Refund.objects.create(
        order=order, attempt=attempt, amount_sen=1000, status="failed", reason="Damaged box"
    )
    RefundLine.objects.create(
        refund=refund, order_line=line, quantity=1, amount_sen=1000, tax_sen=74
    )

    # privacy
    accept_policy(
        user,
        policy=PolicyVersion.objects.current(),
        method=AcceptanceMethod.SIGNUP,
        ip_address="203.0.113.9",
        user_agent="Mozilla/5.0 (Scan)",
    )
    log_access(staff, action=AccessAction.VIEWED, target=order, subject=user, detail="admin order")
    record_disclosure(
        user, recipient="Worldline", data_categories=["amount"], purpose="payment", reference="R1"
    )
    open_data_request(
        user,
        kind="correction",
        channel="privacy_centre",
        details=f"My name is {full_name}, not as printed; I live at {address.line1}.",
    )
    DataExport.objects.create(user=user, status="pending")
    breach = record_breach(
        summary="Test breach",
        data_categories="email",
        discovered_at=now - datetime.timedelta(hours=1),
        acting_user=staff,
        affected_models=["accounts.User"],
    )
    list_affected_customers(breach)

    # core: the staff audit trail (a change staff made to the account)
    record_staff_change(staff, user, action="update", changes={"is_active": ["no", "yes"]})
    return Person(user, email, full_name, phone, address_lines, [order.number])
