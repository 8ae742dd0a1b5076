"""`make bench`, issue 11: what one cache round trip costs with the configured backend
(django-redis keeps one client per connection pool; a client built per call cost more than the
round trip), measured in this process against the bench's Redis."""

import statistics
import time


def report(calls: int = 2000, rounds: int = 5) -> None:
    from django.conf import settings
    from django.core.cache import cache

    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    cache.set("bench:cache:probe", {"a": 1}, 60)
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            cache.get("bench:cache:probe")
        timings.append((time.perf_counter() - started) / calls * 1e6)
    cache.delete("bench:cache:probe")
    print(
        f"cache ({backend}): one get {statistics.median(timings):.0f} µs median,"
        f" {min(timings):.0f} µs best ({rounds} x {calls} calls, one thread)"
    )
