"""ASGI entry point: pages over HTTP and the one WebSocket per tab at /ws/.

The socket accepts only authenticated sessions whose Origin is an allowed host;
the consumer itself refuses anonymous users.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexus.settings")

# Django must be set up before importing anything that touches models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from chat.routing import websocket_urlpatterns  # noqa: E402
from nexus import scheduler, server  # noqa: E402

# Refuse over-long URLs (414) and oversized frames (close 1009) inside daphne itself; load the URLs now.
server.install()
server.warm()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

scheduler.start_if_embedded()
