"""The shop's tasks through a real Redis broker and a real Celery worker."""

import time

import pytest
from django.core import mail

from ipmart.celery import app
from orders.models import Fulfilment, LicenceKey, LicenceKeyStatus, OrderStatus
from orders.tasks import fulfil_order_task
from tests.celery_app import forget_connections
from tests.factories import LicenceKeyFactory, OrderFactory, OrderLineFactory, ProductFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


@pytest.fixture
def worker(redis_url):
    from celery.contrib.testing.worker import start_worker

    keys = ["broker_url", "result_backend", "task_always_eager"]
    previous = {key: app.conf[key] for key in keys}
    app.conf.update(broker_url=redis_url, result_backend=redis_url, task_always_eager=False)
    forget_connections(app)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
            yield app
    finally:
        app.conf.update(**previous)
        forget_connections(app)


def test_a_worker_fulfils_a_paid_order_once_even_if_the_task_runs_twice(worker):
    # given a paid order whose licence key is reserved
    product = ProductFactory(licence=True)
    order = OrderFactory(status=OrderStatus.PAID)
    line = OrderLineFactory(order=order, product=product)
    LicenceKeyFactory(product=product, status=LicenceKeyStatus.RESERVED, order_line=line)
    # when the task is queued twice through Redis and run by the worker
    first = fulfil_order_task.delay(order.pk)
    second = fulfil_order_task.delay(order.pk)
    results = sorted([first.get(timeout=30), second.get(timeout=30)])
    # then exactly one run fulfilled it
    assert results == [False, True]
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert Fulfilment.objects.filter(order=order).count() == 1
    assert list(LicenceKey.objects.filter(order_line=line).values_list("status", flat=True)) == [
        LicenceKeyStatus.ISSUED
    ]
    # and the key email, queued after commit, went through the worker once
    deadline = time.monotonic() + 20
    while not mail.outbox and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [m.to for m in mail.outbox] == [[order.email]]
