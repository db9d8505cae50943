"""The HTTP trigger: a request to /fn/<slug>/<path> becomes a payload 2.0 event for a real
sandboxed handler, and its return value becomes the HTTP response."""

import base64
import json

import pytest

from tests.trigger_support import AsyncClient, make_function, trigger_worker

TRANSACTIONAL = pytest.mark.django_db(transaction=True)

ECHO = """
import json

def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
"""


@pytest.fixture
async def worker(transactional_db, settings):
    async with trigger_worker(settings):
        yield


async def echo(client, function, path, **kwargs):
    method = kwargs.pop("method", "get")
    response = await getattr(client, method)(f"/fn/{function.slug}{path}", **kwargs)
    assert response.status_code == 200, response.content
    return json.loads(response.content)


@TRANSACTIONAL
async def test_query_strings_with_repeats_are_joined_with_commas_and_kept_raw(worker):
    function = await make_function(ECHO)
    event = await echo(AsyncClient(), function, "/orders/7?coupon=a&coupon=b&x=1&empty=")
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/orders/7"
    assert event["rawQueryString"] == "coupon=a&coupon=b&x=1&empty="
    assert event["queryStringParameters"] == {"coupon": "a,b", "x": "1", "empty": ""}
    context = event["requestContext"]
    assert context["http"]["method"] == "GET"
    assert context["http"]["path"] == "/orders/7"
    assert isinstance(context["timeEpoch"], int)
    assert context["requestId"] and context["time"].endswith("+0000")
    assert event["isBase64Encoded"] is False
    assert "body" not in event


@TRANSACTIONAL
async def test_headers_are_lower_cased_and_cookies_move_to_their_own_list(worker):
    function = await make_function(ECHO)
    client = AsyncClient()
    client.cookies["session"] = "abc"
    client.cookies["theme"] = "dark"
    event = await echo(client, function, "/", headers={"X-Custom-Thing": "yes", "User-Agent": "curl/8.5.0"})
    assert event["headers"].get("x-custom-thing") == "yes", event["headers"]
    assert all(name == name.lower() for name in event["headers"])
    assert "cookie" not in event["headers"]
    assert sorted(event["cookies"]) == ["session=abc", "theme=dark"]
    assert event["requestContext"]["http"]["userAgent"] == "curl/8.5.0"


@TRANSACTIONAL
async def test_a_text_body_arrives_as_text_and_a_binary_body_as_base64(worker):
    function = await make_function(ECHO)
    client = AsyncClient()
    event = await echo(
        client, function, "/items", method="post", data='{"item": "book"}', content_type="application/json"
    )
    assert event["body"] == '{"item": "book"}'
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["http"]["method"] == "POST"

    png = b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe"
    event = await echo(client, function, "/upload", method="put", data=png, content_type="image/png")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == png


@TRANSACTIONAL
async def test_custom_status_headers_cookies_and_a_base64_body_become_the_response(worker):
    function = await make_function(
        """
        import base64

        def handler(event, context):
            return {
                "statusCode": 201,
                "headers": {"Content-Type": "image/gif", "X-Made-By": "coldstart"},
                "cookies": ["a=1; Path=/", "b=2; HttpOnly"],
                "body": base64.b64encode(b"GIF89a\\x00\\x01").decode(),
                "isBase64Encoded": True,
            }
        """
    )
    response = await AsyncClient().get(f"/fn/{function.slug}/pic")
    assert response.status_code == 201
    assert response["Content-Type"] == "image/gif"
    assert response["X-Made-By"] == "coldstart"
    assert response.content == b"GIF89a\x00\x01"
    assert response.cookies["a"].value == "1"
    assert response.cookies["b"]["httponly"]


@TRANSACTIONAL
async def test_a_result_without_status_code_is_200_json_of_the_result(worker):
    function = await make_function('def handler(event, context):\n    return {"ok": True, "n": 3}\n')
    response = await AsyncClient().post(f"/fn/{function.slug}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"ok": True, "n": 3}


@TRANSACTIONAL
async def test_a_function_error_is_502(worker):
    function = await make_function('def handler(event, context):\n    raise ValueError("boom")\n')
    response = await AsyncClient().get(f"/fn/{function.slug}/")
    assert response.status_code == 502
    assert json.loads(response.content) == {"message": "Internal Server Error"}


@TRANSACTIONAL
async def test_a_throttled_function_is_429(worker):
    function = await make_function(ECHO, reserved_concurrency=0)
    response = await AsyncClient().get(f"/fn/{function.slug}/")
    assert response.status_code == 429
    assert json.loads(response.content) == {"message": "Too Many Requests"}


@TRANSACTIONAL
async def test_a_timeout_is_504(worker):
    function = await make_function(
        "import time\n\ndef handler(event, context):\n    time.sleep(5)\n", timeout_s=1
    )
    response = await AsyncClient().get(f"/fn/{function.slug}/slow")
    assert response.status_code == 504
    assert json.loads(response.content) == {"message": "Endpoint request timed out"}


@TRANSACTIONAL
async def test_an_oversize_body_is_413_and_nothing_runs(worker, settings):
    from sandbox.models import Invocation

    settings.SANDBOX = {**settings.SANDBOX, "PAYLOAD_BYTES": 64 * 1024 + 4096}
    function = await make_function(ECHO)
    response = await AsyncClient().post(
        f"/fn/{function.slug}/", data=b"x" * 10_000, content_type="text/plain"
    )
    assert response.status_code == 413
    assert "limit" in json.loads(response.content)["message"]
    assert await Invocation.objects.acount() == 0


@TRANSACTIONAL
async def test_each_invocation_records_the_http_trigger_and_its_event(worker):
    from sandbox.models import Invocation

    function = await make_function(ECHO)
    await AsyncClient().get(f"/fn/{function.slug}/x?y=1")
    invocation = await Invocation.objects.aget(function=function)
    assert invocation.trigger == "http"
    assert json.loads(invocation.event)["rawQueryString"] == "y=1"


@TRANSACTIONAL
async def test_an_unknown_function_url_is_404(worker):
    response = await AsyncClient().get("/fn/no-such-function/")
    assert response.status_code == 404


@TRANSACTIONAL
async def test_repeated_request_headers_are_joined_with_commas_through_the_asgi_app(worker):
    from channels.testing import HttpCommunicator

    from config.asgi import application

    function = await make_function(ECHO)
    communicator = HttpCommunicator(
        application,
        "GET",
        f"/fn/{function.slug}/h",
        headers=[(b"host", b"localhost"), (b"x-tag", b"a"), (b"x-tag", b"b")],
    )
    response = await communicator.get_response(timeout=20)
    assert response["status"] == 200, response["body"]
    event = json.loads(response["body"])
    assert event["headers"]["x-tag"] == "a,b"
    assert event["requestContext"]["domainName"] == "localhost"
