"""client_ip: the address that consent and access logs record, which the client must not be
able to choose."""

import pytest
from django.test import RequestFactory

from ipmart.core.http import client_ip


def _request(**meta):
    return RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", **meta)


def test_without_trusted_proxies_it_is_the_socket_address(settings):
    # given
    settings.TRUSTED_PROXY_COUNT = 0
    # when
    ip = client_ip(_request(HTTP_X_FORWARDED_FOR="203.0.113.9"))
    # then
    assert ip == "10.0.0.5"


def test_behind_one_proxy_it_is_the_address_the_proxy_saw(settings):
    # given
    settings.TRUSTED_PROXY_COUNT = 1
    # when
    ip = client_ip(_request(HTTP_X_FORWARDED_FOR="203.0.113.9"))
    # then
    assert ip == "203.0.113.9"


def test_behind_one_proxy_an_entry_the_client_sent_in_front_is_ignored(settings):
    # given: the client sent "X-Forwarded-For: 1.2.3.4" and the proxy appended what it saw
    settings.TRUSTED_PROXY_COUNT = 1
    # when
    ip = client_ip(_request(HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9"))
    # then
    assert ip == "203.0.113.9"


def test_behind_two_proxies_it_is_the_address_the_outer_proxy_saw(settings):
    # given
    settings.TRUSTED_PROXY_COUNT = 2
    # when
    ip = client_ip(_request(HTTP_X_FORWARDED_FOR="1.2.3.4,203.0.113.9 , 10.0.0.2"))
    # then
    assert ip == "203.0.113.9"


@pytest.mark.parametrize("forwarded", ["", " , "])
def test_behind_a_proxy_without_a_forwarded_address_it_falls_back_to_the_socket(
    settings, forwarded
):
    # given
    settings.TRUSTED_PROXY_COUNT = 1
    # when
    ip = client_ip(_request(HTTP_X_FORWARDED_FOR=forwarded))
    # then
    assert ip == "10.0.0.5"


def test_without_any_address_it_is_none(settings):
    # given
    settings.TRUSTED_PROXY_COUNT = 0
    request = RequestFactory().get("/", REMOTE_ADDR="")
    # when
    ip = client_ip(request)
    # then
    assert ip is None
