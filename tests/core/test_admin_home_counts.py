"""The admin home's counts registered by the apps merged alongside the back office (documents
awaiting verification, inquiries overdue, campaigns sending, data requests due soon): each is
shown only to the roles holding its permission, links to a list filtered to the same rows, and
the home stays a fixed number of queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import ROLE_PERMISSIONS
from marketing.models import Campaign, CampaignStatus
from support.models import Inquiry
from tests.factories import staff_client

from .admin_rows import (
    make_campaigns,
    make_data_requests,
    make_inquiries,
    make_orders_awaiting_verification,
)

pytestmark = pytest.mark.django_db

COUNTS = {
    "Documents awaiting verification": "orders.view_orderawaitingverification",
    "Inquiries overdue": "support.view_inquiry",
    "Campaigns sending": "marketing.view_campaign",
    "Open data requests due within 7 days": "privacy.view_datarequest",
}


def _rows(n: int) -> None:
    make_orders_awaiting_verification(n)
    inquiries = make_inquiries(n)
    Inquiry.objects.filter(pk__in=[i.pk for i in inquiries]).update(
        first_response_due=timezone.now() - datetime.timedelta(hours=1)
    )
    campaigns = make_campaigns(n)
    Campaign.objects.filter(pk__in=[c.pk for c in campaigns]).update(status=CampaignStatus.SENDING)
    make_data_requests(n)  # due today … in 20 days: those within 7 are counted


@pytest.mark.parametrize("role", sorted(ROLE_PERMISSIONS))
def test_each_count_is_shown_to_the_roles_that_may_open_its_list(role):
    _rows(3)
    client = staff_client(role)[1]
    home = client.get(reverse("admin:index")).content.decode()
    for label, permission in COUNTS.items():
        assert (label in home) is (permission in ROLE_PERMISSIONS[role]), label


def test_the_counts_match_their_filtered_lists_in_fixed_queries():
    client = staff_client(is_superuser=True)[1]
    _rows(3)
    with CaptureQueriesContext(connection) as few:
        home = client.get(reverse("admin:index")).content.decode()
    expected = {
        reverse("admin:orders_orderawaitingverification_changelist"): 3,
        reverse("admin:support_inquiry_changelist") + "?due=overdue": 3,
        reverse("admin:marketing_campaign_changelist") + "?status__exact=sending": 3,
        reverse("admin:privacy_datarequest_changelist") + "?due=soon": 3,  # due in 0, 1, 2 days
    }
    for url, n in expected.items():
        assert f'{url}"><span class="staff-count-number">{n}</span>' in home, url
        listed = client.get(url)
        assert listed.status_code == 200
        assert listed.context["cl"].result_count == n, url
    _rows(30)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("admin:index"))
    assert len(many) == len(few)
