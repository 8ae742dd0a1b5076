"""The shared cache is django-redis, which reuses one Redis client per connection pool: building
a client per operation cost more than the round trip on every logged-in page."""

from django.core.cache import caches
from django.test import override_settings


def test_the_redis_cache_reuses_one_client(redis_url):
    config = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "ipmart-test-client",
        }
    }
    with override_settings(CACHES=config):
        cache = caches.create_connection("default")
        cache.set("reused", 1, 30)
        first = cache.client.get_client(write=True)
        assert cache.get("reused") == 1
        assert cache.client.get_client(write=True) is first
        assert cache.client.get_client(write=False) is cache.client.get_client(write=False)
        cache.delete("reused")
