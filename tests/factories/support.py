"""Factories of customer service. `InquiryFactory()` is a guest's new order question with one
message; `InquiryFactory(user=customer)` is a customer's. Made rows skip the services (no
email); tests of the flows call the services."""

import datetime

import factory
from django.utils import timezone

from support.models import (
    Category,
    FaqEntry,
    FaqTopic,
    Inquiry,
    Macro,
    Message,
    MessageChannel,
    MessageKind,
    Status,
)
from support.services import new_reference


class InquiryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inquiry
        skip_postgeneration_save = True

    reference = factory.LazyFunction(new_reference)
    user = None
    email = factory.LazyAttribute(
        lambda o: o.user.email if o.user else f"guest{o.reference[-4:].lower()}@example.com"
    )
    name = factory.LazyAttribute(lambda o: o.user.full_name if o.user else "Guest Person")
    category = Category.ORDER
    subject = "Where is my key?"
    status = Status.NEW
    first_response_due = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(hours=8))
    resolution_due = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(hours=48))

    @factory.post_generation
    def body(obj, create, extracted, **kwargs):
        if create:
            Message.objects.create(
                inquiry=obj,
                kind=MessageKind.CUSTOMER,
                channel=MessageChannel.WEB,
                author=obj.user,
                body=extracted or "I paid but I cannot find my licence key.",
            )


class FaqTopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FaqTopic

    name = factory.Sequence(lambda n: f"Topic {n}")
    name_ms = factory.Sequence(lambda n: f"Topik {n}")


class FaqEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FaqEntry

    topic = factory.SubFactory(FaqTopicFactory)
    question = "How do I reset my password?"
    answer = "Use the forgotten password link on the sign-in page."
    question_ms = "Bagaimanakah saya menetapkan semula kata laluan saya?"
    answer_ms = "Gunakan pautan lupa kata laluan di halaman log masuk."
    is_published = True


class MacroFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Macro

    name = factory.Sequence(lambda n: f"Macro {n}")
    body = "Your key has been sent again."
    body_ms = "Kunci anda telah dihantar semula."
    sets_status = Status.RESOLVED


def attach_file(message, name: str = "receipt.png", data: bytes | None = None):
    """An attachment stored as the services store one: through privacy.intake, encrypted in
    the vault with its previews. Returns the Attachment."""
    from privacy.intake import validate_upload
    from support.services import store_attachments

    from . import documents

    data = documents.png(8, 6) if data is None else data
    store_attachments(message, [validate_upload(documents.upload(name, data))], [])
    return message.attachments.order_by("-id").first()
