"""The cart services: quantities never exceed what can be sold, and an anonymous cart is merged
into the customer's on login without losing anything that can still be sold."""

import pytest

from orders.models import Cart, CartLine, LicenceKeyStatus
from orders.services.cart import add_to_cart, merge_carts, remove_from_cart, set_cart_quantity
from orders.services.errors import CartError
from tests.factories import (
    CartFactory,
    CustomerFactory,
    LicenceKeyFactory,
    OrderLineFactory,
    ProductFactory,
    cart_with,
)

pytestmark = pytest.mark.django_db


def _lines(cart: Cart) -> dict[str, int]:
    return dict(CartLine.objects.filter(cart=cart).values_list("product__slug", "quantity"))


# --- add_to_cart


def test_adding_a_product_creates_a_line():
    # given
    cart = CartFactory()
    product = ProductFactory(slug="keyboard", stock=5)
    # when
    line = add_to_cart(cart, product=product, quantity=2)
    # then
    assert line.quantity == 2
    assert _lines(cart) == {"keyboard": 2}


def test_adding_the_same_product_again_adds_to_its_line():
    # given
    cart = CartFactory()
    product = ProductFactory(slug="keyboard", stock=5)
    add_to_cart(cart, product=product, quantity=2)
    # when
    add_to_cart(cart, product=product, quantity=3)
    # then one line, quantities summed
    assert _lines(cart) == {"keyboard": 5}
    assert CartLine.objects.count() == 1


def test_more_than_the_stock_of_a_physical_product_is_refused_and_nothing_changes():
    # given 3 in stock, 2 already in the cart
    cart = CartFactory()
    product = ProductFactory(name="Keyboard", slug="keyboard", stock=3)
    add_to_cart(cart, product=product, quantity=2)
    # when 2 more are asked for
    with pytest.raises(CartError) as error:
        add_to_cart(cart, product=product, quantity=2)
    # then the message says how many are left, and the cart is as it was
    assert str(error.value) == "Only 3 of Keyboard left; your cart was not changed."
    assert _lines(cart) == {"keyboard": 2}


def test_a_new_line_over_the_stock_is_refused_and_no_line_is_created():
    # given
    cart = CartFactory()
    product = ProductFactory(name="Keyboard", stock=3)
    # when / then
    with pytest.raises(CartError, match=r"^Only 3 of Keyboard left; your cart was not changed\.$"):
        add_to_cart(cart, product=product, quantity=4)
    assert CartLine.objects.count() == 0


def test_more_licences_than_available_keys_is_refused():
    # given a licence with 2 available keys (a third is reserved for another order)
    product = ProductFactory(licence=True, name="PDF Studio", slug="pdf-studio", keys=2)
    LicenceKeyFactory(
        product=product,
        status=LicenceKeyStatus.RESERVED,
        order_line=OrderLineFactory(product=product),
    )
    cart = CartFactory()
    # when 3 are asked for
    with pytest.raises(CartError) as error:
        add_to_cart(cart, product=product, quantity=3)
    # then
    assert str(error.value) == "Only 2 of PDF Studio left; your cart was not changed."
    assert CartLine.objects.count() == 0
    # and 2 are fine
    add_to_cart(cart, product=product, quantity=2)
    assert _lines(cart) == {"pdf-studio": 2}


def test_a_licence_with_no_keys_left_is_sold_out():
    # given
    cart = CartFactory()
    product = ProductFactory(licence=True, name="PDF Studio", keys=0)
    # when / then
    with pytest.raises(CartError, match=r"^PDF Studio is sold out\.$"):
        add_to_cart(cart, product=product, quantity=1)
    assert CartLine.objects.count() == 0


def test_a_product_off_sale_is_refused():
    # given
    cart = CartFactory()
    product = ProductFactory(name="Old keyboard", stock=50, is_active=False)
    # when / then
    with pytest.raises(CartError, match=r"^Old keyboard is no longer on sale\.$"):
        add_to_cart(cart, product=product, quantity=1)
    assert CartLine.objects.count() == 0


def test_more_than_20_of_one_product_is_refused_even_with_stock():
    # given
    cart = CartFactory()
    product = ProductFactory(slug="cable", stock=100)
    add_to_cart(cart, product=product, quantity=15)
    # when / then
    with pytest.raises(CartError, match=r"^You can buy at most 20 of one product per order\.$"):
        add_to_cart(cart, product=product, quantity=6)
    assert _lines(cart) == {"cable": 15}


@pytest.mark.parametrize("quantity", [0, -1])
def test_adding_less_than_one_is_refused(quantity):
    # given
    cart = CartFactory()
    # when / then
    with pytest.raises(CartError, match=r"^Choose a quantity of at least 1\.$"):
        add_to_cart(cart, product=ProductFactory(), quantity=quantity)
    assert CartLine.objects.count() == 0


# --- set_cart_quantity and remove_from_cart


def test_setting_a_quantity_replaces_it():
    # given
    product = ProductFactory(slug="keyboard", stock=5)
    cart = cart_with(CustomerFactory(), (product, 1))
    # when
    line = set_cart_quantity(cart, product=product, quantity=4)
    # then
    assert line.quantity == 4
    assert _lines(cart) == {"keyboard": 4}


def test_setting_a_quantity_of_zero_removes_the_line():
    # given
    keep, drop = ProductFactory(slug="keep"), ProductFactory(slug="drop")
    cart = cart_with(CustomerFactory(), (keep, 1), (drop, 2))
    # when / then
    assert set_cart_quantity(cart, product=drop, quantity=0) is None
    assert _lines(cart) == {"keep": 1}


def test_setting_a_quantity_over_the_stock_is_refused_and_nothing_changes():
    # given
    product = ProductFactory(name="Keyboard", slug="keyboard", stock=3)
    cart = cart_with(CustomerFactory(), (product, 2))
    # when / then
    with pytest.raises(CartError, match=r"^Only 3 of Keyboard left; your cart was not changed\.$"):
        set_cart_quantity(cart, product=product, quantity=4)
    assert _lines(cart) == {"keyboard": 2}


def test_setting_a_negative_quantity_is_refused():
    # given
    product = ProductFactory(slug="keyboard")
    cart = cart_with(CustomerFactory(), (product, 2))
    # when / then
    with pytest.raises(CartError, match=r"^Choose a quantity of 0 or more\.$"):
        set_cart_quantity(cart, product=product, quantity=-1)
    assert _lines(cart) == {"keyboard": 2}


def test_remove_deletes_only_that_line():
    # given
    keep, drop = ProductFactory(slug="keep"), ProductFactory(slug="drop")
    cart = cart_with(CustomerFactory(), (keep, 1), (drop, 2))
    # when
    remove_from_cart(cart, product=drop)
    # then
    assert _lines(cart) == {"keep": 1}


# --- merge_carts


def test_merging_sums_quantities_keeps_the_users_lines_and_deletes_the_anonymous_cart():
    # given an anonymous cart and the customer's own cart with an overlapping product
    customer = CustomerFactory()
    a, b, c = (ProductFactory(slug=s, stock=10) for s in ("a", "b", "c"))
    anonymous = cart_with(None, (a, 2), (b, 1))
    own = cart_with(customer, (a, 1), (c, 3))
    # when
    target, notes = merge_carts(anonymous, into_user=customer)
    # then
    assert target.pk == own.pk
    assert notes == []
    assert _lines(own) == {"a": 3, "b": 1, "c": 3}
    assert not Cart.objects.filter(pk=anonymous.pk).exists()
    assert Cart.objects.count() == 1


def test_merging_into_a_customer_without_a_cart_creates_theirs():
    # given
    customer = CustomerFactory()
    product = ProductFactory(slug="a", licence=True, keys=3)
    anonymous = cart_with(None, (product, 2))
    # when
    target, notes = merge_carts(anonymous, into_user=customer)
    # then
    assert target.user == customer
    assert notes == []
    assert _lines(target) == {"a": 2}
    assert Cart.objects.count() == 1


def test_merging_caps_a_line_at_what_can_be_sold_and_says_so():
    # given 3 in stock, 2 in each cart
    customer = CustomerFactory()
    product = ProductFactory(name="Keyboard", slug="keyboard", stock=3)
    licence = ProductFactory(name="PDF Studio", slug="pdf", licence=True, keys=1)
    anonymous = cart_with(None, (product, 2), (licence, 2))
    own = cart_with(customer, (product, 2))
    # when
    _target, notes = merge_carts(anonymous, into_user=customer)
    # then
    assert _lines(own) == {"keyboard": 3, "pdf": 1}
    assert notes == [
        "Keyboard: only 3 could be kept in your cart.",
        "PDF Studio: only 1 could be kept in your cart.",
    ]
    assert not Cart.objects.filter(pk=anonymous.pk).exists()


def test_merging_a_sold_out_product_leaves_the_cart_as_the_note_says():
    # given the customer's cart holds 2 × keyboard from before, the session cart 1 more, and the
    # keyboard has sold out since
    customer = CustomerFactory()
    product = ProductFactory(name="Keyboard", slug="keyboard", stock=0)
    anonymous = cart_with(None, (product, 1))
    own = cart_with(customer, (product, 2))
    # when
    _target, notes = merge_carts(anonymous, into_user=customer)
    # then the note and the cart agree: nothing of it is kept
    assert notes == ["Keyboard: only 0 could be kept in your cart."]
    assert _lines(own) == {}
