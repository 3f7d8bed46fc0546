"""The celery application: `celery -A nexus worker` and `celery -A nexus beat`.

In embedded mode (no REDIS_URL) settings make every task run eagerly in the
calling process, and `nexus.scheduler` plays the part of beat.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexus.settings")

app = Celery("nexus")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
