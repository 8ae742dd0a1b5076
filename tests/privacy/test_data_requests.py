"""Data requests: received and due 21 days later (Malaysia's calendar), one 14-day extension
with a written reason, the officer's queue oldest due first, the customer sees theirs; and the
breach register's deadlines."""

import datetime
import zoneinfo

import pytest
from django.utils import timezone

from accounts.roles import DATA_PROTECTION_OFFICER
from privacy.models import Breach, BreachAffected, DataRequest, DataRequestStatus
from privacy.rights import (
    DataRightsError,
    answer_data_request,
    extend_data_request,
    list_affected_customers,
    record_breach,
)
from privacy.services import open_data_request
from tests.factories import CustomerFactory, OrderFactory, staff_client

pytestmark = pytest.mark.django_db
KL = zoneinfo.ZoneInfo("Asia/Kuala_Lumpur")


def test_access_request_due_in_21_days_and_extension_14():
    # given a request received at 23:30 on 1 March in Kuala Lumpur (15:30 UTC)
    received = datetime.datetime(2027, 3, 1, 23, 30, tzinfo=KL)
    request = open_data_request(
        CustomerFactory(), kind="export", channel="customer_service", received_at=received
    )
    # then it is due on 22 March (the KL date, not the UTC one)
    assert request.due_on == datetime.date(2027, 3, 22)
    # when extended once with a reason
    extended = extend_data_request(request, reason="Records archived off-site.", acting_user=None)
    # then 14 more days
    assert extended.extended_due_on == datetime.date(2027, 4, 5)
    assert extended.effective_due_on == datetime.date(2027, 4, 5)
    # and a second extension is refused, changing nothing
    with pytest.raises(DataRightsError, match="already been extended"):
        extend_data_request(request, reason="Again", acting_user=None)
    request.refresh_from_db()
    assert (request.extended_due_on, request.extension_reason) == (
        datetime.date(2027, 4, 5),
        "Records archived off-site.",
    )


def test_an_extension_without_a_reason_is_refused():
    request = open_data_request(CustomerFactory(), kind="correction", channel="privacy_centre")
    with pytest.raises(DataRightsError, match="written reason"):
        extend_data_request(request, reason="  ", acting_user=None)
    request.refresh_from_db()
    assert request.extended_due_on is None


def test_a_refusal_needs_reasons_and_done_closes_the_request():
    request = open_data_request(CustomerFactory(), kind="objection", channel="privacy_centre")
    with pytest.raises(DataRightsError):
        answer_data_request(request, status="refused", resolution="", acting_user=None)
    done = answer_data_request(request, status="done", resolution="Stopped.", acting_user=None)
    assert done.closed_at is not None and done.status == DataRequestStatus.DONE


def test_the_officer_sees_open_requests_oldest_due_first_in_admin():
    # given three requests; the oldest received one was extended and is now due second
    now = timezone.now()
    customer = CustomerFactory()
    a = open_data_request(
        customer, kind="export", channel="staff", received_at=now - datetime.timedelta(days=20)
    )
    b = open_data_request(
        customer, kind="complaint", channel="staff", received_at=now - datetime.timedelta(days=10)
    )
    c = open_data_request(customer, kind="correction", channel="staff", received_at=now)
    extend_data_request(a, reason="Waiting for the courier's records.", acting_user=None)
    closed = open_data_request(customer, kind="objection", channel="staff")
    answer_data_request(closed, status="done", resolution="ok", acting_user=None)
    client = staff_client(DATA_PROTECTION_OFFICER)[1]
    # when
    response = client.get("/admin/privacy/datarequest/")
    # then open ones only, by effective due date
    assert response.status_code == 200
    assert [r.pk for r in response.context["cl"].result_list] == [b.pk, a.pk, c.pk]


def test_the_officer_extends_and_answers_in_admin():
    request = open_data_request(CustomerFactory(), kind="correction", channel="privacy_centre")
    client = staff_client(DATA_PROTECTION_OFFICER)[1]
    response = client.post(
        f"/admin/privacy/datarequest/{request.pk}/change/",
        {"status": "in_progress", "resolution": "", "extend_with_reason": "Need the courier."},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.extended_due_on == request.due_on + datetime.timedelta(days=14)
    assert request.status == "in_progress"
    # and both changes are in the staff audit trail, the texts as digests only
    from ipmart.core.models import StaffChange

    trail = StaffChange.objects.filter(object_id=str(request.pk), object_repr=str(request))
    changed = sorted(name for change in trail for name in change.changes)
    assert changed == ["extended_due_on", "status"]
    assert "Need the courier." not in str(list(trail.values_list("changes", "detail")))


@pytest.mark.parametrize(
    "role", ["verification reviewer", "support agent", "marketing manager", "store manager"]
)
def test_other_roles_do_not_see_data_requests_or_breaches(role):
    client = staff_client(role)[1]
    request = open_data_request(CustomerFactory(), kind="complaint", channel="privacy_centre")
    for path in [
        "/admin/privacy/datarequest/",
        f"/admin/privacy/datarequest/{request.pk}/change/",
        "/admin/privacy/breach/",
        "/admin/privacy/breach/add/",
    ]:
        assert client.get(path).status_code == 403, path


def test_the_customer_sees_their_requests_and_not_others(client):
    mine = open_data_request(CustomerFactory(), kind="complaint", channel="privacy_centre")
    theirs = open_data_request(CustomerFactory(), kind="complaint", channel="privacy_centre")
    client.force_login(mine.user)
    html = client.get("/account/privacy/").content.decode()
    assert mine.reference in html and theirs.reference not in html


def test_complaint_form_creates_request_and_acknowledges(client):
    customer = CustomerFactory()
    client.force_login(customer)
    response = client.post(
        "/account/privacy/requests/",
        {"kind": "complaint", "details": "You emailed me after I unsubscribed."},
        follow=True,
    )
    request = DataRequest.objects.get(user=customer)
    assert (request.kind, request.channel) == ("complaint", "privacy_centre")
    assert request.reference in response.content.decode()


def test_an_empty_request_form_creates_nothing(client):
    client.force_login(CustomerFactory())
    response = client.post("/account/privacy/requests/", {"kind": "correction", "details": ""})
    assert response.status_code == 200
    assert not DataRequest.objects.exists()


def test_breach_deadlines_72h_and_7d(client):
    # given a breach found at 09:00
    found = datetime.datetime(2027, 5, 3, 9, 0, tzinfo=KL)
    breach = record_breach(
        summary="Laptop stolen",
        data_categories="names, emails",
        discovered_at=found,
        acting_user=None,
    )
    # then the Commissioner must hear by 09:00 three days later, people 7 days after that
    assert breach.commissioner_deadline == found + datetime.timedelta(hours=72)
    assert breach.people_deadline == found + datetime.timedelta(hours=72, days=7)
    breach.commissioner_notified_at = found + datetime.timedelta(hours=10)
    assert breach.people_deadline == found + datetime.timedelta(hours=10, days=7)


def test_affected_customers_are_listed_from_the_registry_and_shown_with_the_deadline():
    # given two customers with orders, one without, and a breach of the orders table
    buyers = [OrderFactory().user, OrderFactory().user]
    CustomerFactory()
    breach = record_breach(
        summary="Order export leaked",
        data_categories="orders",
        discovered_at=timezone.now(),
        acting_user=None,
        affected_models=["orders.Order"],
    )
    # when listed (twice: safe to repeat)
    assert list_affected_customers(breach) == 2
    assert list_affected_customers(breach) == 0
    # then
    assert set(BreachAffected.objects.values_list("user_id", flat=True)) == {u.pk for u in buyers}
    # and the officer's page shows the deadline and the people, and logs the view
    client = staff_client(DATA_PROTECTION_OFFICER)[1]
    html = client.get(f"/admin/privacy/breach/{breach.pk}/change/").content.decode()
    assert "Notify the Commissioner by" in html and "h left" in html
    assert buyers[0].email in html
    from privacy.models import AccessLog

    assert set(AccessLog.objects.values_list("subject_id", flat=True)) == {u.pk for u in buyers}


def test_a_breach_of_an_undeclared_model_is_refused():
    with pytest.raises(DataRightsError):
        record_breach(
            summary="x",
            data_categories="x",
            discovered_at=timezone.now(),
            acting_user=None,
            affected_models=["orders.Product"],
        )
    assert not Breach.objects.exists()


def test_the_officer_records_a_breach_in_admin():
    client = staff_client(DATA_PROTECTION_OFFICER)[1]
    response = client.post(
        "/admin/privacy/breach/add/",
        {
            "summary": "Misdirected email",
            "description": "",
            "data_categories": "email",
            "discovered_at_0": "2027-05-03",
            "discovered_at_1": "09:00:00",
            "people_affected": "1",
            "measures": "",
            "affected_models": ["accounts.User"],
            "affected-TOTAL_FORMS": "0",
            "affected-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    breach = Breach.objects.get()
    assert breach.reference.startswith("BR-") and breach.affected_models == ["accounts.User"]
