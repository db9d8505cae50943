from django.urls import path

from triggers import http
from triggers.views import actions, api, pages

urlpatterns = [
    path("fn/<slug:slug>", http.function_url, name="function_url_root"),
    path("fn/<slug:slug>/", http.function_url, name="function_url"),
    path("fn/<slug:slug>/<path:path>", http.function_url, name="function_url_path"),
    path("functions/<slug:slug>/triggers/", pages.triggers_page, name="triggers"),
    path("functions/<slug:slug>/triggers/action", actions.triggers_action, name="triggers_action"),
    path("buckets/<str:bucket>", api.bucket_list, name="bucket_list"),
    path("buckets/<str:bucket>/<path:key>", api.bucket_object, name="bucket_object"),
    path("queues/<str:queue>/messages", api.queue_messages, name="queue_messages"),
]
