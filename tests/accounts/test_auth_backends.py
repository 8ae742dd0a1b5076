"""The signed-in user comes from SQL compiled once (accounts/auth_backends.py), with Django's
rules kept: a session of a deactivated or deleted user is signed out, whichever backend signed
it in; a changed password ends the other sessions."""

import pytest
from django.test import Client

from tests.factories.accounts import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

BACKENDS = ["accounts.auth_backends.PasswordBackend", "accounts.auth_backends.EmailBackend"]


def signed_in(user, backend: str) -> Client:
    client = Client()
    client.force_login(user, backend=backend)
    return client


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_signed_in_customer_sees_their_orders(backend):
    user = UserFactory()

    response = signed_in(user, backend).get("/orders/")

    assert response.status_code == 200
    assert response.wsgi_request.user == user


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_deactivated_customer_is_signed_out(backend):
    user = UserFactory()
    client = signed_in(user, backend)
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = client.get("/orders/")

    assert response.status_code == 302
    assert response.wsgi_request.user.is_anonymous


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_deleted_customer_is_signed_out(backend):
    user = UserFactory()
    client = signed_in(user, backend)
    user.delete()

    response = client.get("/orders/")

    assert response.status_code == 302
    assert response.wsgi_request.user.is_anonymous


def test_a_changed_password_ends_other_sessions():
    user = UserFactory()
    client = signed_in(user, BACKENDS[1])
    user.set_password(PASSWORD + "-new")
    user.save(update_fields=["password"])

    response = client.get("/orders/")

    assert response.wsgi_request.user.is_anonymous


def test_signing_in_on_the_storefront_names_one_of_the_stores_backends():
    user = UserFactory()
    client = Client()

    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})

    assert client.session["_auth_user_backend"] in BACKENDS
    assert client.get("/orders/").wsgi_request.user == user
