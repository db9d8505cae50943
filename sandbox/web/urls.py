from django.urls import path, re_path

from sandbox.web import api, api_versions
from sandbox.web.views import browser_runs, home, layers, monitor, playground, scaling, tokens, tuning

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
    path("functions/<slug:slug>/monitor/", monitor.monitor_page, name="monitor"),
    path("functions/<slug:slug>/monitor/series.json", monitor.series_json, name="monitor_series"),
    path("functions/<slug:slug>/tuning/", tuning.tuning_page, name="tuning"),
    path("functions/<slug:slug>/tuning/start", tuning.tuning_start, name="tuning_start"),
    path("functions/<slug:slug>/tuning/stop", tuning.tuning_stop, name="tuning_stop"),
    path("functions/<slug:slug>/tuning/<int:run_id>.json", tuning.tuning_json, name="tuning_json"),
    path("layers/", layers.layers_page, name="layers"),
    path("api-token", tokens.issue_token, name="api_token"),
    # Versions and aliases (sandbox/web/api_versions.py), before the OpenAPI-described API.
    path("api/functions/<slug:slug>/versions", api_versions.function_versions, name="api_versions"),
    path(
        "api/functions/<slug:slug>/versions/<str:number>", api_versions.function_version, name="api_version"
    ),
    path("api/functions/<slug:slug>/aliases", api_versions.function_aliases, name="api_aliases"),
    path("api/functions/<slug:slug>/aliases/<str:name>", api_versions.function_alias, name="api_alias"),
    path(
        "api/functions/<slug:slug>/provisioned-concurrency",
        api_versions.provisioned_concurrency,
        name="api_provisioned_concurrency",
    ),
    path("api/", api.urlpatterns()),
    re_path(r"^api/", api.not_found),  # any other /api/ path: 404 in the API's JSON shape
]
