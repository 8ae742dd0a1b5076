"""The privacy centre (/account/privacy/): a customer's own acceptances and the staff accesses
to their data, nobody else's."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from privacy.models import AcceptanceMethod, AccessAction, PolicyVersion
from privacy.services import accept_policy, log_access
from tests.factories import CustomerFactory, StaffFactory

pytestmark = pytest.mark.django_db

CENTRE = "/account/privacy/"


def _first_policy() -> PolicyVersion:
    return PolicyVersion.objects.get(version="2026-11-24")


def test_anonymous_visitors_are_sent_to_sign_in(client):
    # when
    response = client.get(CENTRE)
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={CENTRE}"


def test_a_customer_sees_their_acceptances_and_who_opened_their_data(client):
    # given
    customer = CustomerFactory()
    acceptance = accept_policy(
        customer, policy=_first_policy(), method=AcceptanceMethod.SIGNUP, ip_address="203.0.113.4"
    )
    agent = StaffFactory(role="support agent")
    log_access(
        agent, action=AccessAction.VIEWED, target=customer, subject=customer, detail="inquiry 42"
    )
    log_access(None, action=AccessAction.EXPORTED, target=customer, subject=customer)
    log_access(customer, action=AccessAction.DOWNLOADED, target=customer, subject=customer)
    client.force_login(customer)
    # when
    response = client.get(CENTRE)
    # then
    assert response.status_code == 200
    assert list(response.context["acceptances"]) == [acceptance]
    assert [
        (row["action"], row["thing"], row["role"], row["count"])
        for row in response.context["accesses"]
    ] == [
        ("Exported", "User", "the store's systems", 1),
        ("Viewed", "User (inquiry 42)", "support agent", 1),
    ]
    html = response.content.decode()
    assert "Viewed: User (inquiry 42)</td>" in html
    assert "support agent</td>" in html
    assert "Downloaded" not in html
    assert "203.0.113.4" in html


def test_a_customer_never_sees_another_customers_records(client):
    # given
    customer, other = CustomerFactory(), CustomerFactory()
    accept_policy(
        other, policy=_first_policy(), method=AcceptanceMethod.SIGNUP, ip_address="198.51.100.77"
    )
    log_access(
        StaffFactory(), action=AccessAction.VIEWED, target=other, subject=other, detail="secret"
    )
    client.force_login(customer)
    # when
    response = client.get(CENTRE)
    # then
    assert list(response.context["acceptances"]) == []
    assert list(response.context["accesses"]) == []
    html = response.content.decode()
    assert "198.51.100.77" not in html
    assert "secret" not in html
    assert "No member of staff has opened your personal data." in html


def test_the_centre_makes_the_same_queries_however_many_rows(client, django_assert_num_queries):
    # given
    customer = CustomerFactory()
    accept_policy(customer, policy=_first_policy(), method=AcceptanceMethod.SIGNUP, ip_address=None)
    log_access(StaffFactory(), action=AccessAction.VIEWED, target=customer, subject=customer)
    client.force_login(customer)
    client.get(CENTRE)  # the first page of a session also stores what it learnt in the session
    with CaptureQueriesContext(connection) as few:
        client.get(CENTRE)
    for _ in range(5):
        log_access(StaffFactory(), action=AccessAction.VIEWED, target=customer, subject=customer)
    # when
    with django_assert_num_queries(len(few)):
        response = client.get(CENTRE)
    # then six views of the same thing by the same role are one line counting six
    assert [row["count"] for row in response.context["accesses"]] == [6]


def test_the_centre_reads_in_malay_with_staff_views_collapsed(client):
    # given a Malay-speaking customer whose order list was opened three times by support
    customer = CustomerFactory(preferred_language="ms")
    agent = StaffFactory(role="support agent")
    for _ in range(3):
        log_access(agent, action=AccessAction.VIEWED, target=customer, subject=customer)
    client.force_login(customer)
    client.cookies["django_language"] = "ms"
    # when
    html = client.get(CENTRE).content.decode()
    # then the page, the categories and the collapsed line are in Malay
    assert "Apa yang kami simpan tentang anda" in html
    assert "Buku alamat anda" in html
    assert "ejen sokongan</td>" in html
    assert ">3</td>" in html
    assert "Muat turun data saya" in html
