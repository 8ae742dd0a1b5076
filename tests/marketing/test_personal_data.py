"""marketing/personal_data.py (contract 4): export and account-closure erasure."""

import pytest
from django.apps import apps

from marketing import personal_data, services
from marketing.models import (
    ConsentAction,
    ConsentMethod,
    ConsentRecord,
    Subscriber,
    Subscription,
    Suppression,
    SuppressionReason,
)
from tests.factories import SubscriptionFactory, UserFactory
from tests.factories.marketing import topic

pytestmark = pytest.mark.django_db


def test_declarations_name_real_models_and_fields():
    for declaration in personal_data.DECLARATIONS:
        model = apps.get_model(declaration["model"])
        names = {f.name for f in model._meta.get_fields()}
        assert set(declaration["fields"]) <= names, declaration["model"]
        assert declaration["on_closure"] in {"erase", "anonymise", "keep"}
        if declaration["on_closure"] != "erase":
            assert str(declaration["keep_reason"])


def test_personal_data_imports_nothing_from_privacy():
    source = open(personal_data.__file__, encoding="utf-8").read()
    assert "privacy" not in source.replace("privacy.registry", "")


def test_export_user_lists_the_persons_rows():
    subscription = SubscriptionFactory()
    services.unsubscribe_topic(
        subscription.subscriber,
        topic=topic(),
        method=ConsentMethod.ONE_CLICK,
        ip_address="192.0.2.1",
    )
    exported = personal_data.export_user(subscription.subscriber.user)
    assert exported["Subscription"][0]["topic"] == "new-products"
    assert exported["ConsentRecord"] == [
        {
            "at": ConsentRecord.objects.get().at.isoformat(),
            "topic": "new-products",
            "text_hash": topic().current_version.content_hash,
            "action": "withdrawn",
            "method": "list_unsubscribe_post",
            "ip_address": "192.0.2.1",
        }
    ]
    assert personal_data.export_user(UserFactory()) == {}


def test_erase_user_withdraws_everything_as_account_closure_and_suppresses_the_address():
    # given a subscriber with two topics and a campaign row
    subscription = SubscriptionFactory()
    SubscriptionFactory(subscriber=subscription.subscriber, topic=topic("special-offers"))
    user = subscription.subscriber.user
    email = user.email
    # when
    personal_data.erase_user(user)
    # then
    withdrawals = ConsentRecord.objects.filter(action=ConsentAction.WITHDRAWN)
    assert sorted(withdrawals.values_list("topic__code", "method")) == [
        ("new-products", ConsentMethod.ACCOUNT_CLOSURE),
        ("special-offers", ConsentMethod.ACCOUNT_CLOSURE),
    ]
    assert Subscription.objects.count() == 0
    subscriber = Subscriber.objects.get()
    assert subscriber.user is None
    assert services.is_suppressed(email)
    assert Suppression.objects.get().reason == SuppressionReason.ACCOUNT_CLOSED
    # and the suppression survives the account itself (no email stored, only the HMAC)
    user.delete()
    assert services.is_suppressed(email)
    assert email not in str(list(Suppression.objects.values()))


def test_erase_user_without_marketing_rows_still_suppresses():
    user = UserFactory()
    personal_data.erase_user(user)
    assert services.is_suppressed(user.email)
    assert ConsentRecord.objects.count() == 0
