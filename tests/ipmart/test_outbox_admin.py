"""Outbox messages in admin: store managers and superusers read them; nobody changes them;
other roles do not see them."""

import pytest

from ipmart.core.models import OutboxMessage
from tests.factories import staff_client

pytestmark = pytest.mark.django_db

LIST = "/admin/core/outboxmessage/"


@pytest.fixture
def message():
    return OutboxMessage.objects.create(
        handler="orders.tasks.fulfil_order_task", args=[42], last_error="relay: broker down"
    )


@pytest.mark.parametrize("role", ["store manager", "superuser"])
def test_managers_and_superusers_read_outbox_messages(message, role):
    if role == "superuser":
        client = staff_client(is_superuser=True)[1]
    else:
        client = staff_client(role)[1]
    listing = client.get(LIST + "?state=failing")
    assert listing.status_code == 200
    assert "orders.tasks.fulfil_order_task" in listing.content.decode()
    detail = client.get(f"{LIST}{message.pk}/change/")
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content  # read-only
    assert client.post(f"{LIST}{message.pk}/delete/").status_code == 403
    assert client.get(LIST + "add/").status_code == 403
    assert OutboxMessage.objects.get().last_error == "relay: broker down"


@pytest.mark.parametrize("role", ["support agent", "verification reviewer", "marketing manager"])
def test_other_roles_do_not_see_the_outbox(message, role):
    client = staff_client(role)[1]
    assert client.get(LIST).status_code == 403
