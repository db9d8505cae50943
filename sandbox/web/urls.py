from django.urls import path, re_path

from sandbox.web import api
from sandbox.web.views import browser_runs, home, layers, playground, scaling, tokens

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", home.healthz, name="healthz"),
    path("functions/new", home.function_new, name="function_new"),
    path("functions/<slug:slug>/", playground.function_page, name="function"),
    path("functions/<slug:slug>/invoke", playground.function_invoke, name="function_invoke"),
    path("functions/<slug:slug>/browser-runs", browser_runs.browser_run, name="browser_run"),
    path("functions/<slug:slug>/history", playground.history, name="history"),
    path("functions/<slug:slug>/layers", layers.function_layers, name="function_layers"),
    path(
        "functions/<slug:slug>/invocations/<uuid:request_id>/",
        playground.invocation_detail,
        name="invocation",
    ),
    path("functions/<slug:slug>/scale/", scaling.scale_page, name="scale"),
    path("functions/<slug:slug>/scale/config", scaling.scale_config, name="scale_config"),
    path("functions/<slug:slug>/scale/load", scaling.load_start, name="load_start"),
    path("functions/<slug:slug>/scale/stop", scaling.load_stop, name="load_stop"),
    path("functions/<slug:slug>/metrics.json", scaling.metrics_json, name="metrics_json"),
    path("layers/", layers.layers_page, name="layers"),
    path("api-token", tokens.issue_token, name="api_token"),
    path("api/", api.urlpatterns()),
    re_path(r"^api/", api.not_found),  # any other /api/ path: 404 in the API's JSON shape
]
