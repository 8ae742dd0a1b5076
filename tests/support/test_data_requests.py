"""Customer service → data requests: a signed-in customer's privacy request or complaint opens
the privacy app's data request (channel customer service, due 21 days after receipt), once per
inquiry and in the same transaction as the inquiry; a guest's is only routed."""

import datetime
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from privacy.models import DataRequest
from privacy.services import due_date_for
from support.models import Category, Inquiry
from support.services import route_inquiry_to_data_request, submit_inquiry

pytestmark = pytest.mark.django_db


def _submit(user, category, *, body="Please correct the address you hold about me."):
    return submit_inquiry(
        user=user,
        email="" if user else "guest@example.com",
        name="" if user else "Guest",
        category=category,
        subject="My personal data",
        body=body,
        language="en",
    )


def test_a_customers_privacy_request_opens_one_data_request_due_in_21_days(customer, dpo):
    # when
    inquiry = _submit(customer, Category.PRIVACY_REQUEST)
    # then one data request, from customer service, for the customer, linked to the inquiry
    [request] = DataRequest.objects.all()
    assert (request.user, request.kind, request.channel, request.status) == (
        customer,
        "objection",
        "customer_service",
        "received",
    )
    assert request.received_at == inquiry.created_at
    assert request.due_on == due_date_for(inquiry.created_at)
    assert request.due_on - inquiry.created_at.date() in {
        datetime.timedelta(days=21),
        datetime.timedelta(days=22),  # received after 16:00 UTC: the next day in Kuala Lumpur
    }
    assert inquiry.data_request == request
    assert Inquiry.objects.get(pk=inquiry.pk).data_request_id == request.pk
    assert inquiry.reference in request.details
    assert "correct the address" in request.details
    # and the inquiry is still routed to the officer within the statutory 21 days
    assert inquiry.assignee == dpo
    assert inquiry.resolution_due <= inquiry.created_at + datetime.timedelta(days=21)


def test_a_complaint_opens_a_complaint(customer):
    inquiry = _submit(customer, Category.COMPLAINT, body="You emailed me after I objected.")
    assert DataRequest.objects.get().kind == "complaint"
    assert inquiry.data_request.kind == "complaint"


def test_a_guest_has_no_account_so_no_data_request_only_routing(dpo):
    inquiry = _submit(None, Category.PRIVACY_REQUEST)
    assert DataRequest.objects.count() == 0
    assert inquiry.data_request is None
    assert inquiry.assignee == dpo


def test_other_categories_open_no_data_request(customer):
    _submit(customer, Category.ORDER)
    assert DataRequest.objects.count() == 0


def test_routing_twice_opens_one_request(customer):
    inquiry = _submit(customer, Category.PRIVACY_REQUEST)
    again = route_inquiry_to_data_request(inquiry)
    route_inquiry_to_data_request(Inquiry.objects.get(pk=inquiry.pk))
    assert DataRequest.objects.count() == 1
    assert again.data_request == inquiry.data_request


def test_the_link_is_unique():
    assert Inquiry._meta.get_field("data_request").one_to_one


def test_a_failed_inquiry_leaves_no_data_request(customer):
    # when the inquiry's transaction fails after the data request was opened
    with (
        mock.patch("support.services.inquiries._notify", side_effect=IntegrityError("boom")),
        pytest.raises(IntegrityError),
    ):
        _submit(customer, Category.PRIVACY_REQUEST)
    # then neither exists
    assert DataRequest.objects.count() == Inquiry.objects.count() == 0


def test_an_invalid_inquiry_opens_nothing(customer):
    with pytest.raises(ValidationError):
        _submit(customer, Category.PRIVACY_REQUEST, body="")
    assert DataRequest.objects.count() == 0
