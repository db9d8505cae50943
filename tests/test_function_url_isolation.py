"""Function URLs cannot reach the app's sessions (docs/security.md, attacks 1-3).

Each request goes through the whole ASGI application (the guards around Django included) to a
real handler in the sandbox; each test ends by checking that another learner is still served.
"""

import json

import pytest
from asgiref.sync import sync_to_async

from sandbox.models import Invocation
from tests.asgi_support import asgi_request
from tests.trigger_support import make_function, trigger_worker

TRANSACTIONAL = pytest.mark.django_db(transaction=True)

ECHO = """
import json

def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
"""

PLANTER = """
def handler(event, context):
    return {
        "statusCode": 200,
        "headers": {
            "Content-Type": "text/html",
            "Set-Cookie": "CS_Session=; Max-Age=0; Path=/",
            "Clear-Site-Data": '"cookies", "storage"',
            "Service-Worker-Allowed": "/",
            "X-Content-Type-Options": "none",
            "Content-Security-Policy": "img-src 'self'",
        },
        "cookies": [
            "sessionid=planted-session; Path=/; HttpOnly",
            "csrftoken=planted-token; Path=/",
            "CS_Session=planted-custom; Path=/",
            "theme=dark; Path=/; Domain=example.org",
        ],
        "body": "<script>document.title = 'mine'</script>",
    }
"""


@pytest.fixture
async def worker(transactional_db, settings):
    async with trigger_worker(settings):
        yield


def assert_sandboxed(response):
    policies = response.all("content-security-policy")
    assert "sandbox allow-scripts allow-forms" in policies, response.headers
    assert not any("allow-same-origin" in policy for policy in policies)
    assert response.all("x-content-type-options") == ["nosniff"]
    assert response.header("service-worker-allowed") is None
    assert response.header("clear-site-data") is None


async def assert_another_learner_is_served():
    other = await make_function('def handler(event, context):\n    return {"ok": "still"}\n', username="bob")
    response = await asgi_request("GET", f"/fn/{other.slug}/")
    assert response.status == 200, response.body
    assert json.loads(response.body) == {"ok": "still"}


@TRANSACTIONAL
async def test_the_apps_session_and_csrf_cookies_never_reach_the_event_nor_its_record(worker):
    function = await make_function(ECHO)
    cookie = "sessionid=SECRET-SESSION; csrftoken=SECRET-CSRF; theme=dark; messages=SECRET-FLASH; lang=fr"
    response = await asgi_request("GET", f"/fn/{function.slug}/", headers=[("Cookie", cookie)])
    assert response.status == 200, response.body
    event = json.loads(response.body)
    assert event["cookies"] == ["theme=dark", "lang=fr"]
    assert "cookie" not in event["headers"]
    stored = await sync_to_async(lambda: Invocation.objects.get(function=function).event)()
    assert "SECRET" not in stored and "SECRET" not in response.body.decode()
    await assert_another_learner_is_served()


@TRANSACTIONAL
async def test_the_cookies_are_kept_out_whatever_their_configured_names(worker, settings):
    settings.SESSION_COOKIE_NAME = "CS_Session"
    settings.CSRF_COOKIE_NAME = "cs_csrf"
    function = await make_function(ECHO)
    cookie = "CS_Session=SECRET-SESSION; cs_csrf=SECRET-CSRF; sessionid=not-ours-any-more"
    response = await asgi_request("GET", f"/fn/{function.slug}/", headers=[("Cookie", cookie)])
    event = json.loads(response.body)
    assert event["cookies"] == ["sessionid=not-ours-any-more"]
    await assert_another_learner_is_served()


@TRANSACTIONAL
@pytest.mark.parametrize("session_cookie", ["sessionid", "CS_Session"])
async def test_a_handler_can_neither_set_nor_clear_the_apps_cookies(worker, settings, session_cookie):
    settings.SESSION_COOKIE_NAME = session_cookie
    function = await make_function(PLANTER)
    response = await asgi_request("GET", f"/fn/{function.slug}/")
    assert response.status == 200, response.body
    set_cookies = response.all("set-cookie")
    names = {c.split("=", 1)[0] for c in set_cookies}
    # The app's cookies (whatever their names) are neither planted nor cleared; the handler's own
    # arrive, host-only.
    assert session_cookie not in names and "csrftoken" not in names, set_cookies
    assert names == {"theme", "sessionid", "CS_Session"} - {session_cookie}, set_cookies
    assert not any("domain" in c.lower() for c in set_cookies)
    assert_sandboxed(response)
    assert "img-src 'self'" in response.all("content-security-policy")  # its own policy, added to ours
    await assert_another_learner_is_served()


@TRANSACTIONAL
async def test_every_function_url_response_is_sandboxed_errors_included(worker, settings):
    ok = await make_function(ECHO)
    failing = await make_function('def handler(event, context):\n    raise ValueError("boom")\n')
    throttled = await make_function(ECHO, reserved_concurrency=0)
    slow = await make_function(
        "import time\n\ndef handler(event, context):\n    time.sleep(5)\n", timeout_s=1
    )
    cases = [
        (f"/fn/{ok.slug}/page", {}, 200),
        ("/fn/no-such-function/", {}, 404),
        (f"/fn/{failing.slug}/", {}, 502),
        (f"/fn/{throttled.slug}/", {}, 429),
        (f"/fn/{slow.slug}/", {}, 504),
        (f"/fn/{ok.slug}/", {"headers": [("Content-Length", str(10**9))], "body": b"x"}, 413),
        (f"/fn/{ok.slug}/", {"chunks": [b"x" * (1 << 20)] * 6}, 413),
    ]
    for path, extra, status in cases:
        response = await asgi_request("POST", path, **extra)
        assert response.status == status, (path, response.status, response.body)
        assert_sandboxed(response)
    await assert_another_learner_is_served()


@TRANSACTIONAL
async def test_with_function_url_base_function_urls_live_only_on_their_own_origin(worker, settings):
    settings.FUNCTION_URL_BASE = "http://fn.localhost:8001"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "fn.localhost"]
    function = await make_function(ECHO)

    # On the app's origin: a redirect there; nothing runs, nothing is stored.
    response = await asgi_request("POST", f"/fn/{function.slug}/orders?x=1", body=b"{}")
    assert response.status == 308
    assert response.header("location") == f"http://fn.localhost:8001/fn/{function.slug}/orders?x=1"
    assert_sandboxed(response)
    assert await Invocation.objects.acount() == 0

    # On the function origin: the function answers, sandboxed.
    response = await asgi_request("GET", f"/fn/{function.slug}/orders", host="fn.localhost:8001")
    assert response.status == 200, response.body
    assert json.loads(response.body)["rawPath"] == "/orders"
    assert_sandboxed(response)

    # Nothing of the app on the function origin: no pages, no static files, no API.
    for path in ("/", "/lessons/", "/healthz", "/static/css/coldstart.css", "/api/functions", "/admin/"):
        response = await asgi_request("GET", path, host="fn.localhost:8001")
        assert response.status == 404, path
        assert_sandboxed(response)
    # The app's origin still serves its pages, and another port of the function host is the app's.
    assert (await asgi_request("GET", "/lessons/")).status == 200
    assert (await asgi_request("GET", "/lessons/", host="fn.localhost:8000")).status == 200

    settings.FUNCTION_URL_BASE = ""
    await assert_another_learner_is_served()


@TRANSACTIONAL
async def test_with_function_url_base_no_websocket_is_accepted_on_the_function_origin(worker, settings):
    from channels.testing import WebsocketCommunicator

    from config.asgi import application

    settings.FUNCTION_URL_BASE = "http://fn.localhost:8001"
    function = await make_function(ECHO)
    communicator = WebsocketCommunicator(
        application, f"/ws/functions/{function.slug}/", headers=[(b"host", b"fn.localhost:8001")]
    )
    connected, code = await communicator.connect(timeout=10)
    assert not connected and code == 4404
    settings.FUNCTION_URL_BASE = ""
    await assert_another_learner_is_served()


def test_pages_show_function_urls_on_function_url_base(db, settings):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from lessons.permissions import INSTRUCTORS
    from sandbox.models import Function

    settings.FUNCTION_URL_BASE = "https://fn.example.org"
    user = get_user_model().objects.create_user(username="ada", is_superuser=True)
    user.groups.create(name=INSTRUCTORS)
    function = Function.objects.create(owner=user, name="hello")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    expected = f"https://fn.example.org/fn/{function.slug}/"
    assert expected in client.get(f"/functions/{function.slug}/triggers/").content.decode()
    assert expected in client.get(f"/demo/{function.slug}/").content.decode()
