"""The privacy centre's marketing section comes from the marketing app's optional hooks in
marketing/personal_data.py (`consent_history`, `stop_direct_marketing`); privacy imports no app."""

import pytest

from marketing.models import ConsentAction, ConsentMethod, ConsentRecord, SubscriptionStatus
from marketing.services import is_suppressed, subscribe_topic
from privacy.models import DataRequest
from tests.factories import CustomerFactory
from tests.factories.marketing import topic

pytestmark = pytest.mark.django_db
CENTRE = "/account/privacy/"


def test_a_customer_who_never_subscribed_sees_no_consent_and_nothing_to_stop(client):
    customer = CustomerFactory()
    client.force_login(customer)

    html = client.get(CENTRE).content.decode()

    assert ConsentRecord.objects.count() == 0
    assert "Stop all direct marketing" in html  # the right exists even with nothing to stop


def test_s43_notice_stops_all_direct_marketing_immediately(client):
    # given a customer subscribed to two topics, whose ledger the centre shows
    customer = CustomerFactory()
    subscribe_topic(customer, topic=topic("new-products"))
    subscribe_topic(customer, topic=topic("special-offers"))
    client.force_login(customer)
    html = client.get(CENTRE).content.decode()
    assert topic("special-offers").name_for("en") in html
    assert str(ConsentAction.CONFIRMED.label) in html

    # when they press the button
    response = client.post("/account/privacy/marketing/stop/")

    # then every topic is withdrawn at once, the address is suppressed, and the objection is done
    assert response.status_code == 302
    subscriptions = customer.marketing_subscriber.subscriptions.all()
    assert {s.status for s in subscriptions} == {SubscriptionStatus.UNSUBSCRIBED}
    withdrawn = ConsentRecord.objects.filter(action=ConsentAction.WITHDRAWN)
    assert withdrawn.count() == 2
    assert set(withdrawn.values_list("method", flat=True)) == {ConsentMethod.PREFERENCE_CENTRE}
    assert is_suppressed(customer.email)
    request = DataRequest.objects.get(user=customer)
    assert (request.kind, request.status) == ("objection", "done")
    assert "2 subscriptions" in request.resolution
