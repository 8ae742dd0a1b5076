"""The Worldline Connect SDK client, built from the GATEWAY_* settings. The store (gateway.py)
and the sandbox's contract tests use the same builder, so both speak to the gateway the same way.

The SDK takes its endpoint as a URL with a scheme, a host and an optional port and nothing else:
a path, even a lone "/", is refused ("apiEndpoint should not contain a path"), and it defaults to
https only when built from a properties file. GATEWAY_ENDPOINT may therefore be
"https://api.connect.worldline-solutions.com" or "http://127.0.0.1:8001" (the sandbox); a trailing
slash is dropped here.
"""

from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from worldline.connect.sdk.authentication.authorization_type import AuthorizationType
from worldline.connect.sdk.client import Client
from worldline.connect.sdk.communicator_configuration import CommunicatorConfiguration
from worldline.connect.sdk.factory import Factory
from worldline.connect.sdk.v1.merchant.merchant_client import MerchantClient

INTEGRATOR = "IPmart"
MAX_CONNECTIONS = 10


def endpoint_url(endpoint: str) -> str:
    """`scheme://host[:port]` from GATEWAY_ENDPOINT; raises ValueError for anything else."""
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"GATEWAY_ENDPOINT must be http(s)://host[:port], not {endpoint!r}")
    if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username:
        raise ValueError(f"GATEWAY_ENDPOINT must have no path, query or user info: {endpoint!r}")
    return f"{parts.scheme}://{parts.netloc}"


@lru_cache(maxsize=4)
def _client(
    endpoint: str,
    api_key_id: str,
    secret_api_key: str,
    connect_timeout: float,
    socket_timeout: float,
) -> Client:
    configuration = CommunicatorConfiguration(
        api_endpoint=endpoint_url(endpoint),
        api_key_id=api_key_id,
        secret_api_key=secret_api_key,
        authorization_type=AuthorizationType.V1HMAC,
        # Without these the SDK's connection fails (it compares None with 0).
        connect_timeout=connect_timeout,
        socket_timeout=socket_timeout,
        max_connections=MAX_CONNECTIONS,
        integrator=INTEGRATOR,
    )
    return Factory.create_client_from_configuration(configuration)


def get_client() -> Client:
    """The SDK client for the configured gateway. One per process and configuration: it holds
    a connection pool and is safe to share between threads."""
    return _client(
        settings.GATEWAY_ENDPOINT,
        settings.GATEWAY_API_KEY_ID,
        settings.GATEWAY_SECRET_API_KEY,
        settings.GATEWAY_CONNECT_TIMEOUT_SECONDS,
        settings.GATEWAY_SOCKET_TIMEOUT_SECONDS,
    )


def merchant() -> MerchantClient:
    """The SDK's resources for GATEWAY_MERCHANT_ID (hostedcheckouts(), payments(), …)."""
    return get_client().v1().merchant(settings.GATEWAY_MERCHANT_ID)
