from django.urls import path

from chat.consumers import HubConsumer

websocket_urlpatterns = [
    path("ws/", HubConsumer.as_asgi()),
]
