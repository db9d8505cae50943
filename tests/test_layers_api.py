"""The layers API: POST /api/layers?name= with the zip as the body, GET /api/layers, and the
function's `layers` in GET/POST/PUT /api/functions; every error status with its JSON body, bad zips
refused with nothing kept, and a learner's function importing from its layers through the real
worker, including the bundled numpy layer and the Init Duration its import adds."""

import stat
import zipfile
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from config.asgi import application
from sandbox.layers.attach import opt_dir_for
from sandbox.layers.bundled import register
from sandbox.layers.publish import publish
from sandbox.models import Function, LayerVersion
from tests.layer_support import SITE, layer_zip, make_zip
from tests.playground_support import embedded_worker
from tests.test_api import TRANSACTIONAL, AsyncApi, bearer, create_api_token, error_of
from tests.test_layers_sandbox import NUMPY_VERSION, bundled_zip

GREETING = layer_zip({"python/greeting.py": "def hello():\n    return 'hello from a layer'\n"})
ARN = "arn:aws:lambda:us-east-1:123456789012:layer:{}:{}"


@pytest.fixture
async def worker_session(transactional_db, settings):
    async with embedded_worker(settings):
        yield


@pytest.fixture
def ada(db, layers_root):
    return Client(headers=bearer(create_api_token("ada")))


@pytest.fixture
def bob(db, layers_root):
    return Client(headers=bearer(create_api_token("bob")))


def upload(client, name, data, content_type="application/zip", query=""):
    return client.post(f"/api/layers?name={name}{query}", data, content_type=content_type)


def new_function(client, **fields):
    response = client.post("/api/functions", {"name": "fn", **fields}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["slug"]


def put_layers(client, slug, layers):
    return client.put(f"/api/functions/{slug}", {"layers": layers}, content_type="application/json")


def nothing_kept(root):
    """No layer version row and nothing extracted (the store's tmp/ may exist, empty)."""
    kept = [p for p in root.rglob("*") if p.name != "tmp"] if root.exists() else []
    return LayerVersion.objects.count() == 0 and kept == []


# ----------------------------------------------------------------------------- publishing


def test_publishing_answers_201_with_the_version_and_numbers_versions_per_name(ada, layers_root):
    response = upload(ada, "greeting", GREETING, query="&description=says+hello")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "greeting"
    assert body["version"] == 1
    assert body["arn"] == ARN.format("greeting", 1)
    assert body["layer_arn"] == "arn:aws:lambda:us-east-1:123456789012:layer:greeting"
    assert body["description"] == "says hello"
    assert body["public"] is False
    assert body["code_size"] == len(GREETING)
    assert body["unzipped_size"] == len("def hello():\n    return 'hello from a layer'\n")
    assert body["file_count"] == 1
    assert (layers_root / "content" / body["code_sha256"] / "python" / "greeting.py").is_file()

    second = upload(ada, "greeting", layer_zip({"python/greeting.py": "def hello():\n    return 2\n"}))
    assert (second.status_code, second.json()["version"]) == (201, 2)
    assert upload(ada, "other", GREETING).json()["version"] == 1


def test_two_learners_number_their_own_layers_of_one_name(ada, bob):
    assert upload(ada, "shared-name", GREETING).json()["version"] == 1
    assert upload(bob, "shared-name", GREETING).json()["version"] == 1
    assert upload(ada, "shared-name", GREETING).json()["version"] == 2


def test_listing_shows_your_layers_and_the_public_ones_not_others(ada, bob, layers_root):
    upload(ada, "mine", GREETING)
    upload(ada, "mine", GREETING)
    upload(bob, "bobs", GREETING)
    publish(None, "coldstart-demo", GREETING, "a public layer")
    response = ada.get("/api/layers")
    assert response.status_code == 200
    layers = response.json()["layers"]
    assert [(layer["name"], layer["public"]) for layer in layers] == [
        ("mine", False),
        ("coldstart-demo", True),
    ]
    mine = layers[0]
    assert [v["version"] for v in mine["versions"]] == [1, 2]
    assert mine["latest"]["arn"] == ARN.format("mine", 2)
    assert layers[1]["latest"]["description"] == "a public layer"


BAD_ZIPS = {  # built when the test runs: the zip bomb holds 260 MiB before it is compressed
    "not-a-zip": (lambda: b"PK\x03\x04 not really a zip", "NotAZip"),
    "traversal": (lambda: make_zip(("python/ok.py", "x"), ("../escape.py", "boom")), "PathTraversal"),
    "traversal-nested": (lambda: make_zip(("python/../../x.py", b"x")), "PathTraversal"),
    "absolute": (lambda: make_zip(("/etc/cron.d/evil", "boom")), "AbsolutePath"),
    "zip-bomb": (lambda: make_zip(("python/zeros.bin", bytes(260 << 20))), "UnzippedTooLarge"),
    "too-many-files": (lambda: make_zip(*[(f"python/m{i}.py", "") for i in range(21)]), "TooManyFiles"),
    "empty": (make_zip, "EmptyZip"),
}


@pytest.mark.parametrize("case", BAD_ZIPS)
def test_bad_zips_are_400_naming_the_problem_and_nothing_is_kept(ada, layers_root, settings, case):
    settings.LAYERS = {**settings.LAYERS, "MAX_FILES": 20}
    build, reason = BAD_ZIPS[case]
    response = upload(ada, "bad", build())
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert (error["code"], error["reason"]) == ("InvalidRequest", reason)
    assert error["message"]
    assert nothing_kept(layers_root)


def test_a_symlink_member_is_refused_so_layer_content_cannot_point_outside(ada, layers_root):
    link = zipfile.ZipInfo("python/secrets")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    response = upload(ada, "sneaky", make_zip(("python/ok.py", "x = 1"), (link, b"/etc/shadow")))
    assert response.status_code == 400
    assert error_of(response)["reason"] == "Symlink"
    assert "symbolic link" in error_of(response)["message"]
    assert nothing_kept(layers_root)


def test_a_zip_over_50_mib_is_413_before_it_is_read(ada, layers_root):
    big = bytes((50 << 20) + 1)
    response = upload(ada, "huge", big)
    assert response.status_code == 413
    assert error_of(response)["code"] == "RequestEntityTooLargeException"
    assert nothing_kept(layers_root)


@pytest.mark.django_db(transaction=True)
async def test_a_chunked_zip_over_the_limit_is_413_too(layers_root, settings):
    """No Content-Length to refuse up front: the bytes are counted as they are read."""
    token = await sync_to_async(create_api_token)("ada")
    communicator = HttpCommunicator(
        application,
        "POST",
        "/api/layers?name=chunked",
        body=bytes((50 << 20) + 100),
        headers=[
            (b"host", b"localhost"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/zip"),
        ],
    )
    response = await communicator.get_response(timeout=60)
    assert response["status"] == 413
    assert b"RequestEntityTooLargeException" in response["body"]
    assert await LayerVersion.objects.acount() == 0


def test_a_body_that_is_not_sent_as_a_zip_is_415(ada, layers_root):
    response = upload(ada, "json", b'{"zip": "no"}', content_type="application/json")
    assert response.status_code == 415
    assert error_of(response)["code"] == "UnsupportedMediaType"
    assert upload(ada, "octets", GREETING, content_type="application/octet-stream").status_code == 201


@pytest.mark.parametrize(
    "name", ["", "bad name", "a" * 141, "caf%C3%A9", "coldstart-numpy", "coldstart-mine"]
)
def test_bad_or_reserved_names_are_400(ada, layers_root, name):
    response = upload(ada, name, GREETING)
    assert response.status_code == 400
    assert error_of(response)["message"].startswith("name: ")
    assert nothing_kept(layers_root)


def test_a_missing_name_is_400(ada, layers_root):
    response = ada.post("/api/layers", GREETING, content_type="application/zip")
    assert response.status_code == 400
    assert error_of(response)["code"] == "InvalidRequest"
    assert "name" in error_of(response)["message"]


def test_a_learner_past_their_layer_storage_gets_400_code_storage_exceeded(ada, layers_root, settings):
    settings.LAYERS = {**settings.LAYERS, "BYTES_PER_LEARNER": 100}
    assert upload(ada, "small", layer_zip({"python/a.py": "x" * 60})).status_code == 201
    response = upload(ada, "small", layer_zip({"python/a.py": "y" * 60}))
    assert response.status_code == 400
    assert error_of(response)["code"] == "CodeStorageExceededException"
    assert LayerVersion.objects.count() == 1


def test_the_servers_total_layer_storage_is_a_limit_for_all_learners(ada, bob, settings):
    settings.LAYERS = {**settings.LAYERS, "BYTES_TOTAL": 100}
    assert upload(ada, "first", layer_zip({"python/a.py": "x" * 60})).status_code == 201
    response = upload(bob, "second", layer_zip({"python/b.py": "y" * 60}))
    assert response.status_code == 400
    assert error_of(response)["code"] == "CodeStorageExceededException"
    assert "all learners" in error_of(response)["message"]


def test_uploads_past_the_hourly_rate_are_429_refused_ones_counted(ada, bob, settings):
    settings.LAYERS = {**settings.LAYERS, "UPLOADS_PER_HOUR": 2}
    assert upload(ada, "one", GREETING).status_code == 201
    assert upload(ada, "bad", b"not a zip").status_code == 400
    response = upload(ada, "three", GREETING)
    assert response.status_code == 429
    error = error_of(response)
    assert (error["code"], error["reason"]) == ("TooManyRequestsException", "LayerUploadRateExceeded")
    assert LayerVersion.objects.count() == 1
    assert upload(bob, "bobs", GREETING).status_code == 201  # a limit per learner


def test_without_credentials_it_is_401_and_a_session_without_csrf_is_403(db, layers_root):
    assert Client().get("/api/layers").status_code == 401
    assert upload(Client(), "x", GREETING).status_code == 401
    user = get_user_model().objects.create_user(username="ada")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.get("/api/layers").status_code == 200
    response = upload(browser, "x", GREETING)
    assert response.status_code == 403
    assert error_of(response)["code"] == "Forbidden"
    assert nothing_kept(layers_root)


def test_a_method_the_layers_path_does_not_take_is_405(ada):
    response = ada.delete("/api/layers")
    assert response.status_code == 405
    assert error_of(response)["code"] == "MethodNotAllowed"


def test_the_openapi_document_describes_the_layers_endpoints(db):
    paths = Client().get("/api/openapi.json").json()["paths"]
    assert set(paths["/api/layers"]) == {"get", "post"}
    post = paths["/api/layers"]["post"]
    assert "application/zip" in post["requestBody"]["content"]
    assert {"201", "400", "401", "403", "413", "415", "429"} <= set(post["responses"])


# ----------------------------------------------------------------------------- a function's layers


def test_a_function_lists_layers_in_order_and_can_drop_them(ada):
    upload(ada, "first", GREETING)
    upload(ada, "second", GREETING)
    publish(None, "coldstart-demo", GREETING)
    slug = new_function(ada, layers=[ARN.format("second", 1)])
    assert ada.get(f"/api/functions/{slug}").json()["layers"] == [ARN.format("second", 1)]
    wanted = [ARN.format("first", 1), ARN.format("coldstart-demo", 1), ARN.format("second", 1)]
    response = put_layers(ada, slug, wanted)
    assert response.status_code == 200
    assert response.json()["layers"] == wanted
    assert Function.objects.get(slug=slug).layers == wanted
    assert ada.get("/api/functions").json()["functions"][0]["layers"] == wanted
    assert put_layers(ada, slug, []).json()["layers"] == []
    assert (
        ada.put(f"/api/functions/{slug}", {"memory_mb": 256}, content_type="application/json").json()[
            "layers"
        ]
        == []
    )


@pytest.mark.parametrize(
    ("layers", "problem"),
    [
        ("arn:aws:lambda:us-east-1:123456789012:layer:a:1", "valid list"),
        (["not-an-arn"], "is not a layer version ARN"),
        ([ARN.format("a", 0)], "is not a layer version ARN"),
        (["arn:aws:lambda:eu-west-1:123456789012:layer:a:1"], "is not a layer version ARN"),
        ([ARN.format("a", 9)], "There is no layer version"),
        ([ARN.format("bobs", 1)], "There is no layer version"),  # another learner's
        ([ARN.format("a", 1), ARN.format("a", 2)], "listed twice"),
        ([ARN.format(f"l{i}", 1) for i in range(6)], "at most 5 layers"),
    ],
    ids=[
        "not-a-list",
        "not-an-arn",
        "version-0",
        "other-region",
        "no-such-version",
        "not-yours",
        "twice",
        "six",
    ],
)
def test_a_bad_layer_list_is_400_naming_the_problem(ada, bob, layers, problem):
    upload(bob, "bobs", GREETING)
    for name in ("a", "a", *[f"l{i}" for i in range(6)]):
        upload(ada, name, GREETING)
    slug = new_function(ada)
    response = put_layers(ada, slug, layers)
    assert response.status_code == 400, response.content
    message = error_of(response)["message"]
    assert message.startswith("layers: ") and problem in message, message
    assert Function.objects.get(slug=slug).layers == []
    response = ada.post("/api/functions", {"name": "f", "layers": layers}, content_type="application/json")
    assert response.status_code == 400


def test_a_function_and_its_layers_over_250_mib_unzipped_is_400(ada, settings):
    settings.LAYERS = {**settings.LAYERS, "UNZIPPED_BYTES": 1000}
    upload(ada, "half", layer_zip({"python/half.py": "x" * 450}))
    upload(ada, "more", layer_zip({"python/more.py": "x" * 450}))
    slug = new_function(ada, code="def handler(e, c):\n    return 1\n" + "#" * 200)
    response = put_layers(ada, slug, [ARN.format("half", 1), ARN.format("more", 1)])
    assert response.status_code == 400
    assert "unzipped" in error_of(response)["message"]
    assert put_layers(ada, slug, [ARN.format("half", 1)]).status_code == 200


def test_the_worker_finds_the_layers_again_after_layers_root_was_cleared(ada, layers_root):
    """Another worker host, or a cleared LAYERS_ROOT: the zips in the database are extracted again."""
    import shutil

    upload(ada, "first", GREETING)
    upload(ada, "second", layer_zip({"python/second.py": "X = 2"}))
    slug = new_function(ada, layers=[ARN.format("first", 1), ARN.format("second", 1)])
    function = Function.objects.get(slug=slug)
    opt = opt_dir_for(function)
    assert (Path(opt) / "python/greeting.py").is_file() and (Path(opt) / "python/second.py").is_file()
    shutil.rmtree(layers_root)
    assert opt_dir_for(function) == opt
    assert (Path(opt) / "python/second.py").read_text() == "X = 2"
    assert opt_dir_for(function, arns=[]) is None


def test_a_layer_version_that_no_longer_exists_is_named_when_the_function_runs(ada):
    upload(ada, "gone", GREETING)
    function = Function.objects.get(slug=new_function(ada, layers=[ARN.format("gone", 1)]))
    LayerVersion.objects.filter(name="gone").delete()
    with pytest.raises(LookupError, match="layer:gone:1 no longer exists"):
        opt_dir_for(function)


# ----------------------------------------------------------------------------- running with layers

USES_GREETING = "import greeting\n\ndef handler(event, context):\n    return greeting.hello()\n"


async def async_client(username):
    token = await sync_to_async(create_api_token)(username)
    return AsyncApi(bearer(token))


async def async_upload(api, name, data):
    response = await api.client.post(
        f"/api/layers?name={name}", data, content_type="application/zip", headers=api.headers
    )
    assert response.status_code == 201, response.content
    return response.json()


async def async_put(api, slug, body):
    response = await api.client.put(
        f"/api/functions/{slug}", body, content_type="application/json", headers=api.headers
    )
    assert response.status_code == 200, response.content
    return response.json()


async def invoke(api, slug):
    response = await api.post(f"/api/functions/{slug}/invocations", {"event": {}})
    assert response.status_code == 200, response.content
    return response.json()


@TRANSACTIONAL
async def test_a_function_imports_from_its_layer_and_a_new_layer_list_means_a_cold_start(
    worker_session, layers_root
):
    api = await async_client("ada")
    one = await async_upload(api, "greeting", GREETING)
    two = await async_upload(
        api, "greeting", layer_zip({"python/greeting.py": "def hello():\n    return 'v2'\n"})
    )
    created = await api.post("/api/functions", {"name": "uses-layer", "code": USES_GREETING})
    slug = created.json()["slug"]

    missing = await invoke(api, slug)
    assert missing["status"] == "error"
    assert missing["error"]["errorType"] == "Runtime.ImportModuleError"

    await async_put(api, slug, {"layers": [one["arn"]]})
    first = await invoke(api, slug)
    assert (first["status"], first["result"], first["cold"]) == ("ok", "hello from a layer", True)
    warm = await invoke(api, slug)
    assert (warm["result"], warm["cold"]) == ("hello from a layer", False)

    await async_put(api, slug, {"layers": [two["arn"]]})
    switched = await invoke(api, slug)
    assert (switched["result"], switched["cold"]) == ("v2", True)

    site = await async_upload(
        api, "site", layer_zip({f"{SITE}/greeting.py": "def hello():\n    return 'site'\n"})
    )
    await async_put(api, slug, {"layers": [two["arn"], site["arn"]]})
    # Both on sys.path: python/lib/python3.X/site-packages comes first, as on Lambda.
    assert (await invoke(api, slug))["result"] == "site"


@TRANSACTIONAL
async def test_attaching_the_bundled_numpy_layer_works_and_init_duration_grows(worker_session, layers_root):
    """What a learner does on a fresh `make run`: the public coldstart-numpy layer (registered by
    `manage.py sync_layers`) attached to a function that imports numpy."""
    zip_path = layers_root.parent / "coldstart-numpy.zip"
    zip_path.write_bytes(bundled_zip("coldstart-numpy"))
    numpy_layer, created = await sync_to_async(register)(zip_path)
    assert created and numpy_layer.public
    assert (await sync_to_async(register)(zip_path)) == (numpy_layer, False)  # unchanged: no new version

    api = await async_client("ada")
    listed = (await api.get("/api/layers")).json()["layers"]
    assert [layer["name"] for layer in listed] == ["coldstart-numpy"]

    plain = "def handler(event, context):\n    return 'plain'\n"
    heavy = "import numpy\n\ndef handler(event, context):\n    return numpy.__version__\n"
    slug = (await api.post("/api/functions", {"name": "np", "code": plain})).json()["slug"]
    without = await invoke(api, slug)
    await async_put(api, slug, {"code": heavy, "layers": [numpy_layer.arn]})
    with_numpy = await invoke(api, slug)
    assert (with_numpy["status"], with_numpy["result"], with_numpy["cold"]) == ("ok", NUMPY_VERSION, True)
    assert without["cold"]
    assert with_numpy["init_duration_ms"] > without["init_duration_ms"]
    assert any("Init Duration" in line for line in with_numpy["logs"])
