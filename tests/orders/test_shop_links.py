from django.urls import reverse

from orders.templatetags.shop_links import link


def test_links_built_from_a_prefix_equal_what_reverse_gives():
    assert link(42, "orders:cart_update") == reverse("orders:cart_update", args=[42])
    assert link(7, "orders:cart_remove") == reverse("orders:cart_remove", args=[7])
    assert link("windows-11-pro", "orders:product") == reverse(
        "orders:product", args=["windows-11-pro"]
    )
    assert link("IPM-AAAA-BBBB", "orders:receipt") == reverse(
        "orders:receipt", args=["IPM-AAAA-BBBB"]
    )
