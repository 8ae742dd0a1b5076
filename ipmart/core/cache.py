"""Django's Redis cache backend, keeping one redis client per connection pool.

Django's backend builds a new `redis.Redis` object for every cache operation; with redis-py 7
that constructor fills a large table of response callbacks each time, which cost more than the
round trip itself on every page a logged-in customer opens (session, policy notice, catalogue
version). The client is thread-safe and Django keeps one cache object per thread, so one client
per pool is enough."""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ReusingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
