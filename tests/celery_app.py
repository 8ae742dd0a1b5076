"""Pointing the project's Celery app at a test's own broker (and back)."""


def forget_connections(app) -> None:
    """Celery keeps the producer pool of the broker URL it first published to, the queues it
    first routed to and the result backend it first built; an earlier test may have pointed the
    app elsewhere (or at no result backend at all), so drop the app's references, as Celery
    itself does after a fork. Kombu's own registry keys pools by URL, so the right one is found
    again."""
    app._pool = None
    # the producer pool, the queues and the router (built from task_default_queue when first
    # used: a test on a queue of its own would otherwise send every later test's tasks there)
    app.__dict__.pop("amqp", None)
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)
