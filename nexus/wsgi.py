"""WSGI entry point: production serves pages here (gunicorn) and only /ws/ under ASGI."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexus.settings")

application = get_wsgi_application()
