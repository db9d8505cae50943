from django.urls import path

from . import api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("functions/new", views.function_new, name="function_new"),
    path("functions/<slug:slug>/", views.function_page, name="function"),
    path("functions/<slug:slug>/invoke", views.function_invoke, name="function_invoke"),
    path("functions/<slug:slug>/browser-runs", views.browser_run, name="browser_run"),
    path("functions/<slug:slug>/history", views.history, name="history"),
    path("functions/<slug:slug>/invocations/<uuid:request_id>/", views.invocation_detail, name="invocation"),
    path("functions/<slug:slug>/scale/", views.scale_page, name="scale"),
    path("functions/<slug:slug>/scale/config", views.scale_config, name="scale_config"),
    path("functions/<slug:slug>/scale/load", views.load_start, name="load_start"),
    path("functions/<slug:slug>/scale/stop", views.load_stop, name="load_stop"),
    path("functions/<slug:slug>/metrics.json", views.metrics_json, name="metrics_json"),
    path("api/functions", api.functions, name="api_functions"),
    path("api/functions/<slug:slug>", api.function_detail, name="api_function"),
    path("api/functions/<slug:slug>/invocations", api.invocations, name="api_invocations"),
    path("api/functions/<slug:slug>/metrics", api.metrics, name="api_metrics"),
]
