"""One retention schedule: `manage.py retention [--dry-run]` and the daily beat task run every
rule the apps declare; with the clock moved forward the dry run prints exactly what then goes."""

import datetime
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from orders.models import Cart, Order, OrderStatus
from privacy.models import AccessLog, DataExport, PolicyAcceptance
from privacy.rights import close_account
from privacy.tasks import retention_task
from tests.factories import CustomerFactory, OrderFactory
from tests.factories.personal_data import customer_with_data_everywhere

pytestmark = pytest.mark.django_db


def retention(*, now=None, dry_run=False) -> str:
    out = StringIO()
    args = ["--dry-run"] if dry_run else []
    if now is not None:
        args += ["--now", now.isoformat()]
    call_command("retention", *args, stdout=out)
    return out.getvalue()


def lines_that_go(output: str) -> list[str]:
    return sorted(line.strip() for line in output.splitlines() if line.startswith("  "))


def _world():
    """Things each rule will remove once its period is over, made now."""
    anonymous = Cart.objects.create()
    unpaid = OrderFactory(status=OrderStatus.EXPIRED)
    closed = customer_with_data_everywhere("rafflesia")  # a paid order, an acceptance with an IP
    closed_orders = list(Order.objects.filter(user=closed.user).values_list("number", flat=True))
    Order.objects.filter(user=closed.user, status=OrderStatus.PENDING_PAYMENT).delete()
    close_account(closed.user)
    open_customer = customer_with_data_everywhere("cendana")
    export = DataExport.objects.filter(user=open_customer.user).get()
    DataExport.objects.filter(pk=export.pk).update(status="ready", expires_at=timezone.now())
    return anonymous, unpaid, closed_orders, open_customer


def test_nothing_goes_before_its_time():
    _world()
    output = retention(dry_run=False)
    # only the export whose link already expired goes today
    assert lines_that_go(output) == [
        f"data export {DataExport.objects.get().pk}",
    ]


def test_with_the_clock_moved_forward_the_dry_run_prints_exactly_what_then_goes():
    # given
    anonymous, unpaid, closed_orders, open_customer = _world()
    later = timezone.now() + datetime.timedelta(days=365 * settings.ORDER_RETENTION_YEARS + 3)
    acceptances_with_ip = PolicyAcceptance.objects.filter(ip_address__isnull=False).count()
    # when
    dry = retention(now=later, dry_run=True)
    # then the dry run changed nothing
    assert Cart.objects.filter(pk=anonymous.pk).exists()
    assert Order.objects.filter(pk=unpaid.pk).exists()
    assert PolicyAcceptance.objects.filter(ip_address__isnull=False).count() == acceptances_with_ip
    # and it names each rule with its setting and each thing by id or number only
    assert "anonymous carts (ANONYMOUS_CART_RETENTION_DAYS=30): 1 would delete" in dry
    assert f"unpaid order {unpaid.number}" in dry
    assert f"order {closed_orders[0]} of a closed account" in dry
    assert "@" not in dry and open_customer.full_name not in dry
    # when it runs for real at the same moment
    real = retention(now=later)
    # then exactly the same things went
    assert lines_that_go(real) == lines_that_go(dry)
    assert not Cart.objects.filter(pk=anonymous.pk).exists()
    assert not Order.objects.filter(pk=unpaid.pk).exists()
    assert not Order.objects.filter(number__in=closed_orders).exists()
    assert PolicyAcceptance.objects.filter(ip_address__isnull=False).count() == 0
    assert AccessLog.objects.filter(ip_address__isnull=False).count() == 0
    # and the open customer's paid order is kept (only closed accounts' orders go)
    assert Order.objects.filter(user=open_customer.user).exists()
    # and a second run finds nothing left
    assert lines_that_go(retention(now=later)) == []


def test_an_unpaid_order_younger_than_its_period_stays():
    order = OrderFactory(status=OrderStatus.CANCELLED)
    soon = timezone.now() + datetime.timedelta(days=settings.UNPAID_ORDER_RETENTION_DAYS - 1)
    assert f"unpaid order {order.number}" not in retention(now=soon, dry_run=True)
    assert f"unpaid order {order.number}" not in retention(now=soon)
    assert Order.objects.filter(pk=order.pk).exists()


def test_the_beat_task_runs_every_rule_and_is_scheduled_daily():
    CustomerFactory()
    assert set(retention_task()) >= {"anonymous carts", "expired data exports", "unpaid orders"}
    schedule = settings.CELERY_BEAT_SCHEDULE["retention"]
    assert (schedule["task"], schedule["schedule"]) == ("privacy.tasks.retention_task", 86400.0)


def test_each_period_is_a_documented_setting():
    from pathlib import Path

    from privacy import registry

    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    for rule in registry.retention_rules():
        assert f"`{rule.setting}`" in readme, rule.setting
