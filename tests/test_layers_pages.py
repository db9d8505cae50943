"""The layers pages without a browser: /layers/ lists and uploads (a bad zip is a 400 page naming
the problem, nothing kept), and a function's Layers panel attaches, orders and detaches layers,
refuses what the API refuses, and answers htmx with the panel, a plain form with the page."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from sandbox.layers.publish import publish
from sandbox.models import Function, LayerVersion
from tests.layer_support import layer_zip, make_zip

ARN = "arn:aws:lambda:us-east-1:123456789012:layer:{}:{}"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def ada(db, layers_root):
    user = get_user_model().objects.create_user(username="ada")
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def upload(client, name, data, description=""):
    zip_file = SimpleUploadedFile("layer.zip", data, content_type="application/zip")
    return client.post("/layers/", {"name": name, "description": description, "zip": zip_file})


def test_the_page_lists_public_layers_to_anyone_and_yours_to_you(ada, layers_root):
    publish(None, "coldstart-demo", layer_zip({"python/d.py": ""}), "demo")
    publish(ada.user, "mine", layer_zip({"python/m.py": ""}))
    anonymous = Client().get("/layers/")
    assert anonymous.status_code == 200
    assert b"coldstart-demo" in anonymous.content and b"mine" not in anonymous.content
    page = ada.get("/layers/").content.decode()
    assert "Your layers" in page and ARN.format("mine", 1) in page and "coldstart-demo" in page
    assert 'href="/layers/"' in Client().get("/").content.decode()  # linked from the home page


def test_uploading_publishes_a_version_and_shows_its_arn(ada):
    response = upload(ada, "helpers", layer_zip({"python/helpers.py": "X = 1"}), "mine")
    assert response.status_code == 302
    assert response["Location"] == f"/layers/?published={ARN.format('helpers', 1)}"
    page = ada.get(response["Location"]).content.decode()
    assert f"Published <code>{ARN.format('helpers', 1)}</code>" in page
    assert LayerVersion.objects.get(name="helpers").description == "mine"


def test_a_guest_uploading_gets_a_learner_of_their_own(db, layers_root):
    guest = Client()
    assert upload(guest, "guest-layer", layer_zip({"python/g.py": ""})).status_code == 302
    assert LayerVersion.objects.get(name="guest-layer").owner.username.startswith("guest-")


@pytest.mark.parametrize(
    ("data", "name", "says"),
    [
        (b"not a zip", "x", "not a valid zip"),
        (make_zip(("../../etc/passwd", "x")), "x", "climbs out of the layer"),
        (layer_zip({"python/a.py": ""}), "bad name", "name must be"),
        (layer_zip({"python/a.py": ""}), "coldstart-x", "kept for the bundled"),
    ],
)
def test_a_refused_upload_is_a_400_page_naming_the_problem(ada, layers_root, data, name, says):
    response = upload(ada, name, data)
    assert response.status_code == 400
    assert says in response.content.decode()
    assert LayerVersion.objects.count() == 0
    assert not (layers_root / "content").exists() or not any((layers_root / "content").iterdir())


def test_an_upload_without_a_file_is_refused(ada):
    response = ada.post("/layers/", {"name": "nofile"})
    assert response.status_code == 400
    assert "Choose a .zip file" in response.content.decode()


def test_an_upload_over_50_mib_is_refused_without_reading_it(ada, settings):
    settings.LAYERS = {**settings.LAYERS, "ZIP_BYTES": 1000}
    response = upload(ada, "big", layer_zip({"python/a.py": "x" * 5000}).ljust(3000, b"\0"))
    assert response.status_code == 400
    assert "limit for a direct upload" in response.content.decode()


# ----------------------------------------------------------------------------- the Layers panel


@pytest.fixture
def function(ada):
    for name in ("one", "two", "three"):
        publish(ada.user, name, layer_zip({f"python/{name}.py": ""}))
    return Function.objects.create(owner=ada.user, name="fn")


def post(client, function, htmx=True, **data):
    return client.post(f"/functions/{function.slug}/layers", data, headers=HTMX if htmx else {})


def layers_of(function):
    function.refresh_from_db()
    return function.layers


def test_the_panel_attaches_orders_and_detaches(ada, function):
    page = ada.get(function.get_absolute_url()).content.decode()
    assert 'id="layers-panel"' in page and 'form="layers-form"' in page
    for name in ("one", "two", "three"):
        response = post(ada, function, op="attach", arn=ARN.format(name, 1))
        assert response.status_code == 200
    assert layers_of(function) == [ARN.format(n, 1) for n in ("one", "two", "three")]
    assert "cold start" in response.content.decode()
    post(ada, function, op="up:2")
    assert layers_of(function) == [ARN.format(n, 1) for n in ("one", "three", "two")]
    post(ada, function, op="down:0")
    assert layers_of(function) == [ARN.format(n, 1) for n in ("three", "one", "two")]
    response = post(ada, function, op="up:0")
    assert "Nothing changed" in response.content.decode()
    post(ada, function, op="detach:1")
    assert layers_of(function) == [ARN.format(n, 1) for n in ("three", "two")]
    panel = post(ada, function, op="detach:5").content.decode()
    assert "Choose a layer and an action" in panel
    assert layers_of(function) == [ARN.format(n, 1) for n in ("three", "two")]


def test_the_panel_refuses_what_the_api_refuses(ada, function, settings):
    other = get_user_model().objects.create_user(username="bob")
    publish(other, "bobs", layer_zip({"python/b.py": ""}))
    for arn, says in (
        (ARN.format("bobs", 1), "There is no layer version"),
        ("nonsense", "is not a layer version ARN"),
    ):
        panel = post(ada, function, op="attach", arn=arn).content.decode()
        assert says in panel
    post(ada, function, op="attach", arn=ARN.format("one", 1))
    panel = post(ada, function, op="attach", arn=ARN.format("one", 1)).content.decode()
    assert "listed twice" in panel
    settings.LAYERS = {**settings.LAYERS, "PER_FUNCTION": 1}
    panel = post(ada, function, op="attach", arn=ARN.format("two", 1)).content.decode()
    assert "at most 1 layers" in panel
    assert layers_of(function) == [ARN.format("one", 1)]


def test_without_htmx_the_panel_redirects_or_shows_the_page_with_the_error(ada, function):
    response = post(ada, function, htmx=False, op="attach", arn=ARN.format("one", 1))
    assert (response.status_code, response["Location"]) == (302, function.get_absolute_url())
    response = post(ada, function, htmx=False, op="attach", arn="nonsense")
    assert response.status_code == 400
    assert "is not a layer version ARN" in response.content.decode()


def test_only_the_owner_can_change_a_functions_layers(ada, function, db):
    stranger = Client()
    stranger.force_login(get_user_model().objects.create_user(username="eve"))
    assert post(stranger, function, op="attach", arn=ARN.format("one", 1)).status_code == 404
    assert Client().get(f"/functions/{function.slug}/layers").status_code in (404, 405)
    assert layers_of(function) == []


def test_saving_the_code_from_the_page_keeps_layers_attached_since_it_opened(ada, function):
    """The playground saves code from its own (older) copy of the function: only the fields it
    changed are written, so a layer attached meanwhile stays."""
    from sandbox.web.forms import apply_config

    stale = Function.objects.get(pk=function.pk)
    post(ada, function, op="attach", arn=ARN.format("one", 1))
    apply_config(stale, {"code": "def handler(e, c):\n    return 2\n"})
    assert layers_of(function) == [ARN.format("one", 1)]
    assert "return 2" in Function.objects.get(pk=function.pk).code
