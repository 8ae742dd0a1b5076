"""Settings of a Celery worker process started by a fault test: the test settings (same
database as the test, given through DATABASE_URL), consuming from the broker in
CELERY_BROKER_URL instead of running tasks in-process."""

from ipmart.settings.test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
