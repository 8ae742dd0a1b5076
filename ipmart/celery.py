"""The Celery application. Settings come from Django's (CELERY_* names); tasks are discovered in
each installed app's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipmart.settings.local")

app = Celery("ipmart")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Work a request started keeps its request id in the worker's log lines.
from ipmart.core.request_id import connect_celery_signals  # noqa: E402

connect_celery_signals()
