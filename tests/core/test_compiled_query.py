"""CompiledQuery (ipmart/core/compiled_query.py) answers exactly what evaluating its queryset
answers: the same rows, the same instances with the same related objects, deferred fields and
converted values, one counted query; and it refuses what it could not build the same way."""

import pytest
from django.db.models import F

from ipmart.core.compiled_query import CompiledQuery
from orders.models import CartLine, Order, ProductImage
from orders.selectors import CART_LINE_FIELDS
from tests.factories.accounts import UserFactory
from tests.factories.orders import OrderFactory, ProductFactory, cart_with

pytestmark = pytest.mark.django_db


def cart_lines_of(user_id):
    return (
        CartLine.objects.filter(cart__user=user_id)
        .select_related("product")
        .only(*CART_LINE_FIELDS)
        .order_by("id")
    )


def shown(line: CartLine) -> tuple:
    product = line.product
    return (line.pk, line.quantity, product.pk, product.name, product.price_sen, product.stock)


def test_it_builds_the_instances_the_queryset_builds(django_assert_num_queries):
    # Given two customers' carts
    first, second = UserFactory(), UserFactory()
    a, b, c = ProductFactory(), ProductFactory(licence=True, keys=2), ProductFactory()
    cart_with(first, (a, 2), (b, 1))
    cart_with(second, (c, 5))
    compiled = CompiledQuery(cart_lines_of)

    # When each is read through the compiled query, in one query each
    with django_assert_num_queries(1):
        lines = compiled(first.pk)
    with django_assert_num_queries(1):
        others = compiled(second.pk)

    # Then each gets its own lines, as the ORM builds them, products loaded
    expected = list(cart_lines_of(first.pk))
    expected_others = list(cart_lines_of(second.pk))
    with django_assert_num_queries(0):
        assert [shown(line) for line in lines] == [shown(line) for line in expected]
        assert [shown(line) for line in others] == [shown(line) for line in expected_others]
    assert len(lines) == 2 and len(others) == 1
    assert [type(line) for line in lines] == [type(line) for line in expected]
    assert lines[0].get_deferred_fields() == expected[0].get_deferred_fields()
    assert lines[0].product.get_deferred_fields() == expected[0].product.get_deferred_fields()
    assert lines[0].product.get_deferred_fields()  # descriptions were not read
    assert not lines[0]._state.adding and lines[0]._state.db == "default"
    assert compiled(UserFactory().pk) == []


def test_values_are_converted_as_the_orm_converts_them():
    # Given an image row with a JSON list and a timestamp
    image = ProductImage.objects.create(
        product=ProductFactory(),
        alt="Front",
        stem="front",
        format="webp",
        width=8,
        height=6,
        widths=[320, 640],
    )
    compiled = CompiledQuery(lambda product_id: ProductImage.objects.filter(product=product_id))

    # When it is read through the compiled query
    (read,) = compiled(image.product_id)

    # Then the JSON is a list and the time the ORM's, not the database's raw values
    (orm,) = ProductImage.objects.filter(product=image.product_id)
    assert read.widths == orm.widths == [320, 640]
    assert read.created_at == orm.created_at
    assert read.created_at.tzinfo is not None


def test_annotations_are_set():
    user = UserFactory()
    cart_with(user, (ProductFactory(price_sen=1500), 3))
    compiled = CompiledQuery(
        lambda user_id: cart_lines_of(user_id).annotate(
            amount=F("quantity") * F("product__price_sen")
        )
    )

    (line,) = compiled(user.pk)

    assert line.amount == 4500


def test_each_shape_is_its_own_sql():
    # Given a customer with five orders, read two at a time, newest first
    user = UserFactory()
    numbers = [f"T-{n}" for n in range(5)]
    for number in numbers:
        OrderFactory(user=user, number=number)
    window = CompiledQuery(
        lambda user_id, start: Order.objects.filter(user=user_id).order_by("-id")[start : start + 2]
    )
    window.MAX_SHAPES = 2  # the third page is compiled for itself, not kept

    # When every page is read, the first twice
    pages = [window(user.pk, start) for start in (0, 2, 4, 0)]

    # Then each is the ORM's slice
    newest_first = numbers[::-1]
    assert [[order.number for order in page] for page in pages] == [
        newest_first[0:2],
        newest_first[2:4],
        newest_first[4:6],
        newest_first[0:2],
    ]


@pytest.mark.parametrize(
    "build",
    [
        lambda user_id: CartLine.objects.filter(cart__user=user_id).values("quantity"),
        lambda user_id: CartLine.objects.filter(cart__user=user_id).prefetch_related("product"),
        lambda user_id: CartLine.objects.all(),  # the argument never reaches the SQL
    ],
    ids=["values", "prefetch_related", "argument-unused"],
)
def test_what_it_cannot_build_the_same_way_is_refused(build):
    compiled = CompiledQuery(build)

    with pytest.raises(ValueError):
        compiled(UserFactory().pk)
