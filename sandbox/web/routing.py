from django.urls import path

from sandbox.web.consumers import PlaygroundConsumer

websocket_urlpatterns = [
    path("ws/functions/<slug:slug>/", PlaygroundConsumer.as_asgi()),
]
