"""The layout's header and footer are rendered once per process for each language, signed-in and
staff state and cart count (ipmart/core/templatetags/layout_fragments.py): every page still
shows its own visitor's cart count, language and links, with that visitor's CSRF token and the
page's own path in the language forms."""

import re

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.test import Client
from django.utils.html import escape

from tests.factories import CustomerFactory, ProductFactory, StaffFactory

pytestmark = pytest.mark.django_db


def header(response) -> str:
    html = response.content.decode()
    return html[html.index('<header class="site-header">') : html.index("</header>")]


def footer(response) -> str:
    html = response.content.decode()
    return html[html.index('<footer class="site-footer">') : html.index("</footer>")]


def badge(response) -> str | None:
    found = re.search(r'<span class="badge"[^>]*>(\d+)</span>', header(response))
    return found[1] if found else None


def tokens(response) -> list[str]:
    return re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', header(response))


def next_paths(response) -> list[str]:
    return re.findall(r'<input name="next" type="hidden" value="([^"]*)">', header(response))


def signed_in(**user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(CustomerFactory(**user))
    return client


def test_the_header_counts_the_cart_right_after_each_change(client):
    # given a customer whose header was shown with an empty cart
    client.force_login(CustomerFactory())
    product = ProductFactory(stock=10)
    empty = client.get("/orders/")
    # when they add two, then one more, then remove the product
    client.post(f"/cart/add/{product.pk}/", {"quantity": 2})
    after_adding = client.get("/orders/")
    client.post(f"/cart/add/{product.pk}/", {"quantity": 1})
    after_more = client.get("/cart/")
    client.post(f"/cart/remove/{product.pk}/")
    after_removing = client.get("/orders/")
    # then every page's header shows the count of that moment
    assert badge(empty) is None
    assert badge(after_adding) == "2"
    assert badge(after_more) == "3"
    assert badge(after_removing) is None


def test_two_customers_get_the_same_header_each_with_their_own_token_and_path():
    # given two signed-in customers
    alice, bob = signed_in(), signed_in()
    # when each opens a page (bob's with a query string to escape)
    alice_page = alice.get("/orders/")
    bob_page = bob.get("/orders/?page=1&sort=<b>")
    # then both headers have the sign-out and language forms, each with its own token and path
    assert len(tokens(alice_page)) == len(tokens(bob_page)) == 2
    assert set(tokens(alice_page)).isdisjoint(tokens(bob_page))
    assert next_paths(alice_page) == ["/orders/"]
    assert next_paths(bob_page) == [escape(bob_page.wsgi_request.get_full_path())]
    assert "&amp;sort=" in next_paths(bob_page)[0]
    # and bob's token does not work with alice's cookie (nothing changes), alice's own does
    form = {"language": "ms", "next": "/orders/"}
    refused = alice.post("/i18n/setlang/", {**form, "csrfmiddlewaretoken": tokens(bob_page)[0]})
    assert refused.status_code == 403
    assert "django_language" not in alice.cookies
    accepted = alice.post("/i18n/setlang/", {**form, "csrfmiddlewaretoken": tokens(alice_page)[0]})
    assert accepted.status_code == 302
    assert alice.cookies["django_language"].value == "ms"


def test_english_and_malay_pages_each_show_their_own_header_and_footer():
    # given a customer who reads English and one who reads Malay
    english, malay = signed_in(), signed_in(preferred_language="ms")
    # when they open the same page one after the other
    first = english.get("/orders/")
    malay_page = malay.get("/orders/")
    again = english.get("/orders/")
    # then each language has its own words
    assert ">Orders</a>" in header(first) and ">Sign out</button>" in header(first)
    assert ">Pesanan</a>" in header(malay_page) and ">Log keluar</button>" in header(malay_page)
    assert ">Privacy policy</a>" in footer(first)
    assert ">Dasar privasi</a>" in footer(malay_page)
    assert header(again) == header(first).replace(tokens(first)[0], tokens(again)[0])
    # and the language switcher offers the other language
    assert 'value="en"' in header(malay_page) and 'value="ms"' not in header(malay_page)
    assert 'value="ms"' in header(first) and 'value="en"' not in header(first)


def test_only_staff_see_the_admin_link_and_visitors_see_sign_in():
    # given a member of staff, a customer and a visitor
    staff = Client()
    staff.force_login(StaffFactory())
    customer = signed_in()
    # when each opens the FAQ
    staff_page, customer_page, visitor_page = (
        staff.get("/support/"),
        customer.get("/support/"),
        Client().get("/support/"),
    )
    # then
    assert ">Admin</a>" in header(staff_page)
    assert ">Admin</a>" not in header(customer_page)
    assert ">Sign out</button>" in header(customer_page)
    assert ">Sign in</a>" in header(visitor_page)
    assert ">Sign out</button>" not in header(visitor_page)


def test_a_fragment_rendered_without_a_request_has_no_token_and_no_path():
    # given a fragment with a form
    fragment = Template(
        '{% load layout_fragments %}{% layout_fragment "form" %}<form>{% csrf_token %}'
        '<input name="next" value="{{ page_path }}"></form>{% endlayout_fragment %}'
    )
    # when it is rendered outside a request (an email, a test)
    html = fragment.render(Context({}))
    # then, as {% csrf_token %} does there, no token and no path
    assert html == '<form><input name="next" value=""></form>'


def test_a_fragment_cannot_hold_a_block():
    # a page could never replace it: refused when the template is read
    with pytest.raises(TemplateSyntaxError):
        Template(
            '{% load layout_fragments %}{% layout_fragment "x" %}{% block title %}{% endblock %}'
            "{% endlayout_fragment %}"
        )
