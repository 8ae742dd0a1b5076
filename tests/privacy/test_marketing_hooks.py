"""The privacy centre's marketing section fills in from any app's optional hooks
(`consent_history`, `stop_direct_marketing`); with none installed it says no marketing is kept.
The marketing app (another branch) adds the two functions to marketing/personal_data.py."""

import datetime
import types

import pytest
from django.utils import timezone

from privacy import registry
from privacy.models import DataRequest
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
CENTRE = "/account/privacy/"


@pytest.fixture
def marketing_hooks(monkeypatch):
    stopped = []
    module = types.ModuleType("marketing.personal_data")
    module.consent_history = lambda user: [
        {
            "at": timezone.now() - datetime.timedelta(days=2),
            "topic": "Monthly deals",
            "action": "subscribed",
            "source": "signup form",
        }
    ]
    module.stop_direct_marketing = lambda user: stopped.append(user.pk) or 2
    fake = registry.AppDeclarations("marketing", module, (), ())
    installed = registry.discover()
    monkeypatch.setattr(registry, "discover", lambda: (*installed, fake))
    return stopped


def test_without_a_marketing_app_the_centre_says_none_is_kept(client):
    client.force_login(CustomerFactory())
    html = client.get(CENTRE).content.decode()
    assert "We keep no marketing consent for you" in html
    assert "Stop all direct marketing" not in html


def test_s43_notice_stops_all_direct_marketing_immediately(client, marketing_hooks):
    # given a customer whose consent history comes from the marketing app's hook
    customer = CustomerFactory()
    client.force_login(customer)
    html = client.get(CENTRE).content.decode()
    assert "Monthly deals" in html and "Stop all direct marketing" in html
    # when they press the button
    response = client.post("/account/privacy/marketing/stop/")
    # then every app's hook ran at once and the objection is on record as done
    assert response.status_code == 302
    assert marketing_hooks == [customer.pk]
    request = DataRequest.objects.get(user=customer)
    assert (request.kind, request.status) == ("objection", "done")
    assert "2 subscriptions" in request.resolution
