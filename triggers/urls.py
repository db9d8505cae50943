from django.urls import path

from . import http, views

urlpatterns = [
    path("fn/<slug:slug>", http.function_url, name="function_url_root"),
    path("fn/<slug:slug>/", http.function_url, name="function_url"),
    path("fn/<slug:slug>/<path:path>", http.function_url, name="function_url_path"),
    path("functions/<slug:slug>/triggers/", views.triggers_page, name="triggers"),
    path("functions/<slug:slug>/triggers/action", views.triggers_action, name="triggers_action"),
    path("buckets/<str:bucket>", views.bucket_list, name="bucket_list"),
    path("buckets/<str:bucket>/<path:key>", views.bucket_object, name="bucket_object"),
    path("queues/<str:queue>/messages", views.queue_messages, name="queue_messages"),
]
