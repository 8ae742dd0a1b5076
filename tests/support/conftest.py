import pytest

from tests.factories import CustomerFactory, StaffFactory, enrolled_in_mfa


@pytest.fixture
def customer(db):
    return CustomerFactory(preferred_language="en")


@pytest.fixture
def agent(db):
    return enrolled_in_mfa(StaffFactory(role="support agent", full_name="Sam Support"))


@pytest.fixture
def dpo(db):
    return enrolled_in_mfa(StaffFactory(role="data protection officer", full_name="Dina Officer"))


@pytest.fixture
def superuser(db):
    return enrolled_in_mfa(StaffFactory(is_superuser=True))


@pytest.fixture
def run_outbox(settings):
    """Run what the outbox holds now (tests run Celery eagerly, so after commit it already
    ran; inside a test transaction nothing commits, so run the pending rows by hand)."""
    from ipmart.core.models import OutboxMessage
    from ipmart.core.outbox import run_message

    def run():
        for pk in OutboxMessage.objects.filter(done_at__isnull=True).values_list("pk", flat=True):
            run_message(pk)

    return run
