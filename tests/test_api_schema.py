"""The API's OpenAPI document and docs page (served offline), its JSON error shape for unknown
paths, methods and bodies, and API tokens: stored hashed, existing ones hashed by the migration,
created or replaced from the page and shown once."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from sandbox.models import ApiToken, Function
from tests.test_api import GREETER, bearer, create_api_token, error_of


@pytest.fixture
def ada(db):
    return Client(headers=bearer(create_api_token("ada")))


def test_the_openapi_document_describes_every_endpoint_with_bearer_auth(db):
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert set(paths["/api/functions"]) == {"get", "post"}
    assert set(paths["/api/functions/{slug}"]) == {"get", "put", "delete"}
    assert set(paths["/api/functions/{slug}/invocations"]) == {"get", "post"}
    assert set(paths["/api/functions/{slug}/metrics"]) == {"get"}
    schemes = schema["components"]["securitySchemes"]
    assert [s["scheme"] for s in schemes.values()] == ["bearer"]
    invoke = paths["/api/functions/{slug}/invocations"]["post"]
    assert {"200", "202", "400", "401", "403", "404", "413", "429"} <= set(invoke["responses"])
    body = invoke["requestBody"]["content"]["application/json"]["schema"]
    ref = body.get("$ref") or body["allOf"][0]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert body["properties"]["invocation_type"]["enum"] == ["RequestResponse", "Event"]
    record = schema["components"]["schemas"]["InvocationRecord"]
    assert {"request_id", "billed_duration_ms", "init_duration_ms", "logs"} <= set(record["properties"])


def test_the_docs_page_loads_swagger_ui_from_this_server_only(db):
    response = Client().get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    # a hashed name when the server serves collected files (config/static_files.py)
    assert any(re.search(r"/swagger-ui-bundle(\.[0-9a-f]{12})?\.js$", s) for s in sources), sources
    assert any(re.search(r"/swagger-ui(\.[0-9a-f]{12})?\.css$", s) for s in sources), sources
    assert all(s.startswith("/static/") for s in sources), sources
    assert "/api/openapi.json" in html


def test_an_unknown_api_path_is_404_in_json(ada):
    for path in ("/api/", "/api/nothing", "/api/functions/x/y/z", "/api/functions/"):
        response = ada.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/json"
        assert error_of(response)["code"] == "NotFound"
        assert path in error_of(response)["message"]


def test_a_method_a_path_does_not_take_is_405_in_json(ada):
    response = ada.patch("/api/functions", {}, content_type="application/json")
    assert response.status_code == 405
    assert error_of(response)["code"] == "MethodNotAllowed"
    assert response["Allow"] == "GET, POST"
    assert ada.post("/api/functions/some-fn/metrics").status_code == 405


def test_bodies_that_are_not_a_json_object_or_have_bad_types_are_400_naming_the_field(ada):
    response = ada.post("/api/functions", [1, 2], content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["message"] == "The body must be a JSON object."

    response = ada.post("/api/functions", {"name": "x", "memory_mb": "lots"}, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["message"].startswith("memory_mb: ")

    response = ada.post("/api/functions", "", content_type="application/json")
    assert response.status_code == 400, "an empty body is an empty object: the name is missing"
    assert error_of(response)["message"].startswith("name: ")
    assert not Function.objects.exists()

    slug = ada.post("/api/functions", {"name": "typed"}, content_type="application/json").json()["slug"]
    response = ada.get(f"/api/functions/{slug}/metrics?load_test=abc")
    assert response.status_code == 400
    assert error_of(response)["message"].startswith("load_test: ")
    response = ada.put(f"/api/functions/{slug}", {"reserved_concurrency": "many"}, "application/json")
    assert response.status_code == 400
    assert error_of(response)["message"].startswith("reserved_concurrency: ")
    # null is a value (no cap), not a missing field; unchanged, so no worker is told anything
    response = ada.put(f"/api/functions/{slug}", {"reserved_concurrency": None}, "application/json")
    assert response.status_code == 200 and response.json()["reserved_concurrency"] is None
    assert response.json()["name"] == "typed", "an untouched field changed"


# ---------------------------------------------------------------------------------- tokens


def test_the_page_creates_or_replaces_a_token_and_shows_it_once(db):
    user = get_user_model().objects.create_user(username="ada")
    browser = Client()
    browser.force_login(user)
    function = Function.objects.create(owner=user, name="fn", code=GREETER)

    page = browser.get(f"/functions/{function.slug}/").content.decode()
    assert "Create an API token" in page

    response = browser.post("/api-token", {"function": function.slug}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    key = re.search(r'<code id="api-token"[^>]*>([^<]+)</code>', response.content.decode()).group(1)
    assert Client(headers=bearer(key)).get("/api/functions").status_code == 200

    page = browser.get(f"/functions/{function.slug}/").content.decode()
    assert key not in page, "the key was shown a second time"
    assert key[:6] in page and "Replace my API token" in page

    browser.post("/api-token")
    assert Client(headers=bearer(key)).get("/api/functions").status_code == 401, "the old key still works"
    assert Client().post("/api-token").status_code == 302, "no token without signing in"


@pytest.mark.django_db(transaction=True)
def test_the_migration_hashes_existing_clear_text_tokens_which_keep_working():
    before = [("sandbox", "0002_scaling")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    user = old.get_model("auth", "User").objects.create(username="veteran")
    old.get_model("sandbox", "ApiToken").objects.create(user=user, key="an-old-clear-text-key")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    token = ApiToken.objects.get(user__username="veteran")
    assert "an-old-clear-text-key" not in (token.digest, token.hint)
    response = Client(headers=bearer("an-old-clear-text-key")).get("/api/functions")
    assert response.status_code == 200, response.content
