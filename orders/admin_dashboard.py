"""What the shop's staff need to do now, on the admin home (see ipmart.core.dashboard)."""

import datetime

from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ipmart.core.charts import column_chart, row_chart
from ipmart.core.dashboard import Count as Item
from ipmart.core.dashboard import register_chart, register_counts
from ipmart.core.money import format_ringgit

from .models import (
    Fulfilment,
    LicenceKeyStatus,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    ProductKind,
)

SALES_DAYS = 30
TOP_PRODUCTS = 8
SOLD_STATUSES = (OrderStatus.PAID, OrderStatus.ON_HOLD, OrderStatus.FULFILLED)


def awaiting_shipping() -> Q:
    unshipped = OrderLine.objects.filter(
        order=OuterRef("pk"), kind=ProductKind.PHYSICAL, shipped_at__isnull=True
    )
    fulfilled = Fulfilment.objects.filter(order=OuterRef("pk"))
    return Q(status=OrderStatus.PAID) & Q(Exists(unshipped)) & Q(Exists(fulfilled))


@register_counts(permission="orders.view_order", order=10)
def order_counts(user) -> list[Item]:
    """One query whatever the number of orders. Each count is shown to the roles whose work it
    is (its `permission`), and its link opens for all of them."""
    counts = Order.objects.aggregate(
        shipping=Count("pk", filter=awaiting_shipping()),
        review=Count("pk", filter=Q(status=OrderStatus.NEEDS_REVIEW)),
        held=Count("pk", filter=Q(status=OrderStatus.ON_HOLD)),
    )
    changelist = reverse("admin:orders_order_changelist")
    return [
        Item(
            _("Orders awaiting shipping"),
            counts["shipping"],
            f"{changelist}?awaiting=shipping",
            permission="orders.add_shipment",  # those who ship
        ),
        Item(
            _("Payments needing review"),
            counts["review"],
            f"{changelist}?status__exact={OrderStatus.NEEDS_REVIEW}",
            permission="orders.add_refund",  # those who settle payments (refund or ship)
        ),
        Item(
            _("Orders held for verification"),
            counts["held"],
            f"{changelist}?status__exact={OrderStatus.ON_HOLD}",
            permission="orders.view_order",
        ),
    ]


@register_counts(permission="orders.view_product", order=20)
def key_pool_counts(user) -> list[Item]:
    low = (
        Product.objects.filter(kind=ProductKind.LICENCE, is_active=True)
        .annotate(
            keys_left=Count(
                "licence_keys", filter=Q(licence_keys__status=LicenceKeyStatus.AVAILABLE)
            )
        )
        .filter(keys_left__lt=F("key_low_threshold"))
        .count()
    )
    url = reverse("admin:orders_product_changelist") + "?key_pool=low"
    return [Item(_("Licence key pools running low"), low, url, permission="orders.view_product")]


def _since(days: int) -> tuple[datetime.date, datetime.datetime]:
    today = timezone.localdate()
    first = today - datetime.timedelta(days=days - 1)
    start = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
    return first, start


# Store managers (the role that changes orders) see the sales charts.
@register_chart(permission="orders.change_order", order=10)
def sales_per_day(user):
    first, start = _since(SALES_DAYS)
    rows = (
        Order.objects.filter(status__in=SOLD_STATUSES, paid_at__gte=start)
        .annotate(day=TruncDate("paid_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(total=Sum(F("total_sen") - F("refunded_sen")))  # net of partial refunds
        .order_by("day")
    )
    by_day = {row["day"]: row["total"] for row in rows}
    points = []
    for offset in range(SALES_DAYS):
        day = first + datetime.timedelta(days=offset)
        points.append((day.strftime("%d %b"), by_day.get(day, 0) or 0))
    chart = column_chart(
        _("Sales per day, last %(n)d days") % {"n": SALES_DAYS}, points, fmt=format_ringgit
    )
    chart.total_text = format_ringgit(sum(value for _, value in points))
    return chart


@register_chart(permission="orders.change_order", order=20)
def top_products(user):
    _first, start = _since(SALES_DAYS)
    rows = (
        OrderLine.objects.filter(order__status__in=SOLD_STATUSES, order__paid_at__gte=start)
        .values("product_id", "product_name")
        .annotate(revenue=Sum(F("unit_price_sen") * (F("quantity") - F("refunded_quantity"))))
        .order_by("-revenue", "product_name")[:TOP_PRODUCTS]
    )
    points = [(row["product_name"], row["revenue"] or 0) for row in rows]
    return row_chart(
        _("Top products, last %(n)d days (before tax)") % {"n": SALES_DAYS},
        points,
        fmt=format_ringgit,
    )


@register_counts(permission="orders.view_orderawaitingverification", order=15)
def verification_counts(user) -> list[Item]:
    """Documents customers uploaded that nobody has decided yet (issue 7's reviewer queue)."""
    from .models import DocumentStatus, VerificationDocument

    waiting = VerificationDocument.objects.filter(
        status=DocumentStatus.PENDING, order__status=OrderStatus.ON_HOLD
    ).count()
    url = reverse("admin:orders_orderawaitingverification_changelist")
    return [
        Item(
            _("Documents awaiting verification"),
            waiting,
            url,
            permission="orders.view_orderawaitingverification",
        )
    ]
