"""Versions, aliases, provisioned concurrency and the logging configuration through the JSON API:
every endpoint and error code, and invocations by qualifier through the embedded worker (real
sandboxed handlers)."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from sandbox.models import EnvironmentRecord, FunctionVersion, Invocation, VersionImmutable
from tests.playground_support import embedded_worker
from tests.test_api import (
    TRANSACTIONAL,
    AsyncApi,
    bearer,
    create_api_token,
    error_of,
    make_function,
    signed_in_api,
)

V1 = "def handler(event, context):\n    return 'one'\n"
V2 = "def handler(event, context):\n    return 'two'\n"
V3 = "def handler(event, context):\n    return 'three'\n"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


@pytest.fixture
async def worker_session(transactional_db, settings):
    async with embedded_worker(settings):
        yield


@pytest.fixture
def ada(db):
    return Client(headers=bearer(create_api_token("ada")))


def put(client, path, body):
    return client.put(path, body, content_type="application/json")


def post(client, path, body=None):
    return client.post(path, body or {}, content_type="application/json")


def publish(client, function, code=None):
    if code is not None:
        assert put(client, f"/api/functions/{function.slug}", {"code": code}).status_code == 200
    return post(client, f"/api/functions/{function.slug}/versions")


def assert_error(response, status, code, *fragments):
    assert response.status_code == status, response.content
    error = error_of(response)
    assert error["code"] == code, error
    for fragment in fragments:
        assert fragment in error["message"], error["message"]
    return error


# ---------------------------------------------------------------------------------- versions


def test_publishing_numbers_versions_1_2_and_returns_the_last_one_when_nothing_changed(ada):
    function = make_function("ada", V1)
    first = publish(ada, function)
    assert first.status_code == 201
    body = first.json()
    assert body["version"] == "1"
    assert body["function_arn"] == f"{ARN}{function.name}:1"
    assert (body["handler"], body["memory_mb"], body["timeout_s"], body["layers"]) == ("handler", 128, 3, [])
    assert body["logging"] == {
        "log_format": "Text",
        "application_log_level": "INFO",
        "system_log_level": "INFO",
    }

    again = publish(ada, function)
    assert again.status_code == 200 and again.json()["version"] == "1", "no change, no new version"

    second = publish(ada, function, V2)
    assert second.status_code == 201 and second.json()["version"] == "2"
    assert second.json()["code_sha256"] != body["code_sha256"]

    listed = ada.get(f"/api/functions/{function.slug}/versions").json()["versions"]
    assert [v["version"] for v in listed] == ["$LATEST", "1", "2"]
    assert ada.get(f"/api/functions/{function.slug}/versions/2").json()["version"] == "2"


def test_a_configuration_change_alone_publishes_a_new_version(ada):
    function = make_function("ada", V1)
    publish(ada, function)
    put(ada, f"/api/functions/{function.slug}", {"logging": {"log_format": "JSON"}})
    response = publish(ada, function)
    assert response.status_code == 201 and response.json()["version"] == "2"
    assert response.json()["logging"]["log_format"] == "JSON"


def test_a_published_version_is_immutable_while_latest_stays_editable(ada):
    function = make_function("ada", V1)
    publish(ada, function)
    put(ada, f"/api/functions/{function.slug}", {"code": V2, "memory_mb": 512, "environment": {"A": "1"}})
    version = ada.get(f"/api/functions/{function.slug}/versions/1").json()
    assert (version["memory_mb"], version["environment"]) == (128, {})
    stored = FunctionVersion.objects.get(function=function, number=1)
    assert stored.code == V1
    stored.code = V3
    with pytest.raises(VersionImmutable):
        stored.save()
    assert FunctionVersion.objects.get(pk=stored.pk).code == V1


def test_version_errors_are_404_for_a_missing_one_and_400_for_a_bad_one(ada):
    function = make_function("ada", V1)
    assert_error(
        ada.get(f"/api/functions/{function.slug}/versions/7"),
        404,
        "ResourceNotFoundException",
        f"Function not found: {ARN}{function.name}:7",
    )
    assert_error(
        ada.get(f"/api/functions/{function.slug}/versions/abc"), 400, "InvalidParameterValueException"
    )
    assert_error(
        post(ada, f"/api/functions/{function.slug}/versions", {"colour": 1}),
        400,
        "InvalidParameterValueException",
        "colour",
    )
    assert_error(
        post(ada, f"/api/functions/{function.slug}/versions", {"description": "x" * 257}),
        400,
        "InvalidParameterValueException",
        "256",
    )
    assert not FunctionVersion.objects.exists()
    assert_error(ada.delete(f"/api/functions/{function.slug}/versions"), 405, "MethodNotAllowed")


def test_a_function_has_at_most_the_servers_number_of_versions_and_aliases(ada, settings):
    settings.SANDBOX = {**settings.SANDBOX, "MAX_VERSIONS": 2, "MAX_ALIASES": 1}
    function = make_function("ada", V1)
    publish(ada, function)
    publish(ada, function, V2)
    assert_error(publish(ada, function, V3), 400, "InvalidParameterValueException", "2 published versions")
    assert FunctionVersion.objects.filter(function=function).count() == 2
    assert put(ada, f"/api/functions/{function.slug}/aliases/a", {"function_version": "1"}).status_code == 201
    assert_error(
        put(ada, f"/api/functions/{function.slug}/aliases/b", {"function_version": "1"}),
        400,
        INVALID,
        "1 aliases",
    )
    assert put(ada, f"/api/functions/{function.slug}/aliases/a", {"function_version": "2"}).status_code == 200


# ---------------------------------------------------------------------------------- aliases


def test_an_alias_is_created_201_updated_200_read_listed_and_deleted_204(ada):
    function = make_function("ada", V1)
    publish(ada, function)
    publish(ada, function, V2)
    path = f"/api/functions/{function.slug}/aliases/live"

    created = put(ada, path, {"function_version": "1", "description": "prod"})
    assert created.status_code == 201
    body = created.json()
    assert body["alias_arn"] == f"{ARN}{function.name}:live"
    assert (body["function_version"], body["routing_config"]) == ("1", {"additional_version_weights": {}})

    updated = put(ada, path, {"routing_config": {"additional_version_weights": {"2": 0.1}}})
    assert updated.status_code == 200
    assert updated.json()["routing_config"] == {"additional_version_weights": {"2": 0.1}}
    assert updated.json()["description"] == "prod", "a missing field keeps its value"
    assert updated.json()["revision_id"] != body["revision_id"]

    moved = put(ada, path, {"function_version": "2"}).json()
    assert moved["routing_config"]["additional_version_weights"] == {}, (
        "moving onto the routed version resets it"
    )

    assert ada.get(path).json()["function_version"] == "2"
    assert [a["name"] for a in ada.get(f"/api/functions/{function.slug}/aliases").json()["aliases"]] == [
        "live"
    ]
    assert ada.delete(path).status_code == 204
    assert_error(
        ada.get(path), 404, "ResourceNotFoundException", f"Alias not found: {ARN}{function.name}:live"
    )
    assert_error(ada.delete(path), 404, "ResourceNotFoundException")


def routed(weights, version="1"):
    return {"function_version": version, "routing_config": {"additional_version_weights": weights}}


INVALID = "InvalidParameterValueException"
MISSING = "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("name", "body", "status", "code", "fragment"),
    [
        ("123", {"function_version": "1"}, 400, INVALID, "not only digits"),
        ("bad.name", {"function_version": "1"}, 400, INVALID, "not valid"),
        ("live", {}, 400, INVALID, "function_version is required"),
        ("live", {"function_version": "9"}, 404, MISSING, "Function not found"),
        ("live", {"function_version": "latest"}, 400, INVALID, "$LATEST or a published"),
        ("live", {"function_version": ["1"]}, 400, INVALID, "string"),
        ("live", {"function_version": "1", "colour": 1}, 400, INVALID, "colour"),
        ("live", {"function_version": "1", "routing_config": {"2": 0.1}}, 400, INVALID, "routing_config"),
        ("live", routed({"2": 0.1}, "$LATEST"), 400, INVALID, "not $LATEST"),
        ("live", routed({"2": 1.5}), 400, INVALID, "from 0.0 to 1.0"),
        ("live", routed({"2": -0.1}), 400, INVALID, "from 0.0 to 1.0"),
        ("live", routed({"2": "half"}), 400, INVALID, "must be a number"),
        ("live", routed({"1": 0.5}), 400, INVALID, "already the alias's version"),
        ("live", routed({"2": 0.1, "3": 0.1}), 400, INVALID, "at most one"),
        ("live", routed({"$LATEST": 0.1}), 400, INVALID, "cannot use $LATEST"),
        ("live", routed({"8": 0.1}), 404, MISSING, "Function not found"),
        ("live", {"function_version": "1", "description": "x" * 257}, 400, INVALID, "256"),
    ],
)
def test_bad_aliases_are_refused_with_awss_error_and_nothing_is_saved(
    ada, name, body, status, code, fragment
):
    function = make_function("ada", V1)
    publish(ada, function)
    publish(ada, function, V2)
    assert_error(put(ada, f"/api/functions/{function.slug}/aliases/{name}", body), status, code, fragment)
    assert not function.aliases.exists()


def test_an_alias_of_someone_else_is_403_and_without_credentials_401(ada):
    create_api_token("bob")
    function_of_bob = make_function("bob", V1)
    for path in ("versions", "aliases", "aliases/live", "provisioned-concurrency?qualifier=1"):
        assert_error(ada.get(f"/api/functions/{function_of_bob.slug}/{path}"), 403, "Forbidden")
        assert_error(Client().get(f"/api/functions/{function_of_bob.slug}/{path}"), 401, "Unauthorized")
    assert_error(ada.patch(f"/api/functions/{function_of_bob.slug}/aliases/live"), 405, "MethodNotAllowed")


def test_an_alias_in_use_by_a_trigger_cannot_be_deleted(ada):
    from triggers import bindings, buckets

    function = make_function("ada", V1)
    publish(ada, function)
    put(ada, f"/api/functions/{function.slug}/aliases/live", {"function_version": "1"})
    bindings.bind_function_url(function, "live")
    bucket = buckets.create_bucket(function.owner, "photos-of-ada")
    buckets.subscribe(bucket, function, qualifier="live")
    assert_error(
        ada.delete(f"/api/functions/{function.slug}/aliases/live"),
        409,
        "ResourceConflictException",
        "the function URL",
        "bucket photos-of-ada",
    )
    assert function.aliases.filter(name="live").exists()


# ---------------------------------------------------------------------------------- provisioned concurrency


def test_provisioned_concurrency_lives_on_a_version_or_an_alias_never_on_latest(ada):
    function = make_function("ada", V1)
    slug = function.slug
    assert_error(
        put(ada, f"/api/functions/{slug}", {"provisioned_concurrency": 1}),
        400,
        "InvalidParameterValueException",
        "version or an alias",
    )
    assert_error(
        put(
            ada,
            f"/api/functions/{slug}/provisioned-concurrency?qualifier=$LATEST",
            {"provisioned_concurrent_executions": 1},
        ),
        400,
        "InvalidParameterValueException",
        "$LATEST",
    )
    put(ada, f"/api/functions/{slug}/aliases/dev", {"function_version": "$LATEST"})
    assert_error(
        put(ada, f"/api/functions/{slug}/aliases/dev", {"provisioned_concurrency": 1}),
        400,
        "InvalidParameterValueException",
        "$LATEST",
    )
    assert_error(
        put(
            ada,
            f"/api/functions/{slug}/provisioned-concurrency?qualifier=4",
            {"provisioned_concurrent_executions": 1},
        ),
        404,
        "ResourceNotFoundException",
    )
    publish(ada, function)
    response = put(
        ada,
        f"/api/functions/{slug}/provisioned-concurrency?qualifier=1",
        {"provisioned_concurrent_executions": 2},
    )
    assert response.status_code == 202
    assert response.json()["requested_provisioned_concurrent_executions"] == 2
    assert ada.get(f"/api/functions/{slug}/provisioned-concurrency?qualifier=1").json()["qualifier"] == "1"
    assert ada.get(f"/api/functions/{slug}/versions/1").json()["provisioned_concurrency"] == 2
    assert ada.delete(f"/api/functions/{slug}/provisioned-concurrency?qualifier=1").status_code == 204
    assert_error(
        ada.delete(f"/api/functions/{slug}/provisioned-concurrency?qualifier=1"),
        404,
        "ProvisionedConcurrencyConfigNotFoundException",
    )
    assert_error(
        ada.get(f"/api/functions/{slug}/provisioned-concurrency?qualifier=1"),
        404,
        "ProvisionedConcurrencyConfigNotFoundException",
    )
    assert_error(
        put(
            ada,
            f"/api/functions/{slug}/provisioned-concurrency?qualifier=1",
            {"provisioned_concurrent_executions": 0},
        ),
        400,
        "InvalidParameterValueException",
        "at least 1",
    )


def test_a_version_has_one_provisioned_configuration_whether_direct_or_through_an_alias(ada):
    function = make_function("ada", V1)
    slug = function.slug
    publish(ada, function)
    response = put(
        ada, f"/api/functions/{slug}/aliases/live", {"function_version": "1", "provisioned_concurrency": 1}
    )
    assert response.status_code == 201 and response.json()["provisioned_concurrency"] == 1
    assert_error(
        put(
            ada,
            f"/api/functions/{slug}/provisioned-concurrency?qualifier=1",
            {"provisioned_concurrent_executions": 1},
        ),
        409,
        "ResourceConflictException",
        "alias live",
    )
    assert_error(
        put(
            ada,
            f"/api/functions/{slug}/aliases/beta",
            {"function_version": "1", "provisioned_concurrency": 1},
        ),
        409,
        "ResourceConflictException",
    )
    assert not function.aliases.filter(name="beta").exists(), "the alias and its configuration go together"


def test_provisioned_concurrency_cannot_exceed_the_reserved_concurrency(ada):
    function = make_function("ada", V1, reserved_concurrency=1)
    publish(ada, function)
    assert_error(
        put(
            ada,
            f"/api/functions/{function.slug}/aliases/live",
            {"function_version": "1", "provisioned_concurrency": 2},
        ),
        400,
        "InvalidParameterValueException",
        "reserved concurrency (1)",
    )
    put(
        ada,
        f"/api/functions/{function.slug}/aliases/live",
        {"function_version": "1", "provisioned_concurrency": 1},
    )
    assert_error(
        put(ada, f"/api/functions/{function.slug}", {"reserved_concurrency": 0}),
        400,
        "InvalidRequest",
        "provisioned concurrency",
    )


# ---------------------------------------------------------------------------------- logging configuration


def test_the_logging_configuration_is_read_and_written_with_the_function(ada):
    function = make_function("ada", V1)
    path = f"/api/functions/{function.slug}"
    assert ada.get(path).json()["logging"] == {
        "log_format": "Text",
        "application_log_level": "INFO",
        "system_log_level": "INFO",
    }
    response = put(ada, path, {"logging": {"log_format": "JSON", "application_log_level": "DEBUG"}})
    assert response.status_code == 200, response.content
    assert response.json()["logging"] == {
        "log_format": "JSON",
        "application_log_level": "DEBUG",
        "system_log_level": "INFO",
    }
    response = put(ada, path, {"logging": {"system_log_level": "WARN"}})
    assert response.json()["logging"]["application_log_level"] == "DEBUG", "a partial update keeps the rest"
    assert_error(
        put(ada, path, {"logging": {"log_format": "Text", "application_log_level": "DEBUG"}}),
        400,
        "InvalidRequest",
        "logging: Log levels can only be set with the JSON log format",
    )
    assert_error(put(ada, path, {"logging": {"log_format": "YAML"}}), 400, "InvalidRequest", "Text or JSON")
    assert ada.get(path).json()["logging"]["system_log_level"] == "WARN"


# ---------------------------------------------------------------------------------- invoking by qualifier


async def setup_versions(username="ada"):
    """A function with version 1 (V1), version 2 (V2) and $LATEST (V3)."""
    api, function = await signed_in_api(username, V1)
    for code in (None, V2):
        if code:
            await sync_to_async(put_code)(function, code)
        await api.post(f"/api/functions/{function.slug}/versions", {})
    await sync_to_async(put_code)(function, V3)
    return api, function


def put_code(function, code):
    function.code = code
    function.save()


async def api_put(api, path, body):
    return await api.client.put(path, body, content_type="application/json", headers=api.headers)


async def invoke_as(api, function, qualifier, event=None):
    path = f"/api/functions/{function.slug}/invocations"
    if qualifier is not None:
        path += f"?qualifier={qualifier}"
    return await api.post(path, {"event": event or {}})


@TRANSACTIONAL
async def test_each_qualifier_runs_its_own_version_and_the_start_line_and_record_say_which(worker_session):
    api, function = await setup_versions()
    await api_put(api, f"/api/functions/{function.slug}/aliases/live", {"function_version": "2"})
    expected = {
        None: ("$LATEST", "three"),
        "1": ("1", "one"),
        "live": ("2", "two"),
        "$LATEST": ("$LATEST", "three"),
    }
    for qualifier, (version, result) in expected.items():
        response = await invoke_as(api, function, qualifier)
        assert response.status_code == 200, response.content
        record = response.json()
        assert (record["executed_version"], record["result"]) == (version, result), qualifier
        assert record["logs"][0] == f"START RequestId: {record['request_id']} Version: {version}"
        assert response["X-Amz-Executed-Version"] == version
    stored = await Invocation.objects.filter(function=function, qualifier="live").aget()
    assert stored.executed_version == "2"


@TRANSACTIONAL
async def test_warm_environments_belong_to_one_version(worker_session):
    api, function = await setup_versions()
    order = ["1", None, "1", None, "2"]
    cold = []
    for qualifier in order:
        cold.append((await invoke_as(api, function, qualifier)).json()["cold"])
    assert cold == [True, True, False, False, True], "a new version starts cold, its own warm ones stay"
    versions = set(
        await sync_to_async(list)(
            EnvironmentRecord.objects.filter(function=function).values_list("version", flat=True)
        )
    )
    assert versions == {"1", "2", "$LATEST"}


@TRANSACTIONAL
async def test_a_weighted_alias_at_weight_1_sends_everything_to_the_second_version_and_0_nothing(
    worker_session,
):
    api, function = await setup_versions()
    path = f"/api/functions/{function.slug}/aliases/canary"
    for weight, expected in ((1.0, "2"), (0.0, "1")):
        response = await api_put(
            api,
            path,
            {"function_version": "1", "routing_config": {"additional_version_weights": {"2": weight}}},
        )
        assert response.status_code in (200, 201)
        for _ in range(3):
            record = (await invoke_as(api, function, "canary")).json()
            assert record["executed_version"] == expected
            assert f"Version: {expected}" in record["logs"][0]


@TRANSACTIONAL
async def test_an_unknown_or_malformed_qualifier_is_refused_and_nothing_runs(worker_session):
    api, function = await setup_versions()
    response = await invoke_as(api, function, "nope")
    assert_error(response, 404, "ResourceNotFoundException", f"Alias not found: {ARN}{function.name}:nope")
    response = await invoke_as(api, function, "9")
    assert_error(response, 404, "ResourceNotFoundException", "Function not found")
    response = await invoke_as(api, function, "bad.name")
    assert_error(response, 400, "InvalidParameterValueException")
    body = {"event": {}, "invocation_type": "Event"}
    response = await api.post(f"/api/functions/{function.slug}/invocations?qualifier=nope", body)
    assert_error(response, 404, "ResourceNotFoundException")
    assert await Invocation.objects.filter(function=function).acount() == 0


@TRANSACTIONAL
async def test_an_event_invocation_by_alias_runs_the_aliass_version(worker_session):
    api, function = await setup_versions()
    await api_put(api, f"/api/functions/{function.slug}/aliases/live", {"function_version": "1"})
    response = await api.post(
        f"/api/functions/{function.slug}/invocations?qualifier=live",
        {"event": {}, "invocation_type": "Event"},
    )
    assert response.status_code == 202
    request_id = response.json()["request_id"]
    invocation = await Invocation.objects.aget(request_id=request_id)
    for _ in range(100):
        if invocation.is_finished:
            break
        await asyncio.sleep(0.1)
        invocation = await Invocation.objects.aget(request_id=request_id)
    assert (invocation.status, invocation.executed_version, invocation.result) == ("ok", "1", "one")


@TRANSACTIONAL
async def test_provisioned_concurrency_on_an_alias_serves_it_warm_without_init(worker_session):
    api, function = await setup_versions()
    response = await api_put(
        api,
        f"/api/functions/{function.slug}/aliases/live",
        {"function_version": "2", "provisioned_concurrency": 1},
    )
    assert response.status_code == 201, response.content
    ready = EnvironmentRecord.objects.filter(
        function=function, version="2", provisioned=True, ready__isnull=False
    )
    for _ in range(150):
        if await ready.aexists():
            break
        await asyncio.sleep(0.1)
    assert await ready.aexists(), "the provisioned environment of version 2 was not initialised"
    record = (await invoke_as(api, function, "live")).json()
    assert (record["executed_version"], record["cold"], record["init_duration_ms"]) == ("2", False, None)
    stored = await Invocation.objects.aget(request_id=record["request_id"])
    assert stored.provisioned
    latest = (await invoke_as(api, function, None)).json()
    assert latest["cold"], "$LATEST has no provisioned environment"


@TRANSACTIONAL
async def test_bearer_clients_of_other_users_cannot_invoke_by_qualifier(worker_session):
    _, function = await setup_versions()
    token = await sync_to_async(create_api_token)("bob")
    response = await invoke_as(AsyncApi(bearer(token)), function, "1")
    assert_error(response, 403, "Forbidden")
    assert await Invocation.objects.acount() == 0


def test_the_capacity_of_provisioned_versions_is_billed_at_their_own_memory(ada):
    from datetime import timedelta

    from django.utils import timezone

    from sandbox.engine.rules.billing import Prices
    from sandbox.web.metrics import function_metrics

    function = make_function("ada", V1, memory_mb=512)
    publish(ada, function)
    put(ada, f"/api/functions/{function.slug}", {"memory_mb": 1024})  # $LATEST changes, version 1 does not
    put(
        ada,
        f"/api/functions/{function.slug}/aliases/live",
        {"function_version": "1", "provisioned_concurrency": 2},
    )
    function.provisioned_configs.update(since=timezone.now() - timedelta(minutes=5))
    cost = function_metrics(function)["provisioned_capacity_cost_usd"]
    expected = 0.5 * 2 * 300 * Prices().provisioned_capacity_per_gb_second  # 512 MB, 2 environments, 5 min
    assert expected <= cost < expected * 1.01
