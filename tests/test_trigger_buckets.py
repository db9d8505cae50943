"""Buckets: uploads and deletes (API with a Bearer token) send S3 records, as asynchronous
invokes, to functions subscribed with a matching prefix/suffix; a handler reads granted buckets
through `coldstart.buckets` in the real sandbox and is denied the others."""

import asyncio
import hashlib
import json

import pytest
from asgiref.sync import sync_to_async

from sandbox.models import ApiToken, Invocation, token_digest
from tests.trigger_support import AsyncClient, eventually, make_function, trigger_worker
from triggers import buckets
from triggers.models import AsyncEvent, BucketObject

TRANSACTIONAL = pytest.mark.django_db(transaction=True)

READER = """
from urllib.parse import unquote_plus

from coldstart import buckets
from coldstart.channel import ServiceError

def handler(event, context):
    record = event["Records"][0]
    name = record["s3"]["bucket"]["name"]
    key = unquote_plus(record["s3"]["object"]["key"])
    out = {"event": record["eventName"], "key": key}
    if record["eventName"].startswith("ObjectCreated"):
        out["body"] = buckets.get_object(name, key).decode()
        out["listed"] = [o["key"] for o in buckets.list_objects(name)]
    try:
        buckets.get_object("secret-bucket", "plans.txt")
    except ServiceError as exc:
        out["denied"] = str(exc)
    return out
"""


@pytest.fixture
async def worker(transactional_db, settings):
    async with trigger_worker(settings):
        yield


@sync_to_async
def setup(function):
    bucket = buckets.create_bucket(function.owner, "photos")
    buckets.subscribe(bucket, function, prefix="uploads/", suffix=".txt")
    buckets.create_bucket(function.owner, "secret-bucket")
    token = ApiToken.objects.create(user=function.owner, digest=token_digest("bucket-token"))
    return bucket, token


def auth():
    return {"Authorization": "Bearer bucket-token"}


@TRANSACTIONAL
async def test_an_upload_invokes_the_subscribed_function_which_reads_the_object(worker):
    function = await make_function(READER)
    await setup(function)
    client = AsyncClient()
    response = await client.put(
        "/buckets/photos/uploads/my notes+1.txt",
        data=b"hello bucket",
        content_type="text/plain",
        headers=auth(),
    )
    assert response.status_code == 200, response.content
    assert response.json()["eTag"] == hashlib.md5(b"hello bucket").hexdigest()

    def done():
        return Invocation.objects.filter(function=function, status="ok").first()

    invocation = await eventually(done)
    assert invocation.trigger == "s3"
    record = json.loads(invocation.event)["Records"][0]
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["bucket"] == {
        "name": "photos",
        "ownerIdentity": {"principalId": "COLDSTART"},
        "arn": "arn:aws:s3:::photos",
    }
    obj = record["s3"]["object"]
    assert obj["key"] == "uploads/my+notes%2B1.txt"
    assert obj["size"] == 12
    assert obj["eTag"] == hashlib.md5(b"hello bucket").hexdigest()
    assert obj["sequencer"]
    assert invocation.result["body"] == "hello bucket"
    assert invocation.result["listed"] == ["uploads/my notes+1.txt"]
    assert invocation.result["denied"].startswith("Access Denied")
    assert "secret-bucket" not in invocation.result["denied"]  # refusals repeat no argument


@TRANSACTIONAL
async def test_a_delete_sends_object_removed(worker):
    function = await make_function(READER)
    bucket, _ = await setup(function)
    await sync_to_async(BucketObject.objects.create)(
        bucket=bucket, key="uploads/a.txt", body=b"x", size=1, etag="e"
    )
    response = await AsyncClient().delete("/buckets/photos/uploads/a.txt", headers=auth())
    assert response.status_code == 204

    def done():
        return Invocation.objects.filter(function=function, status="ok").first()

    invocation = await eventually(done)
    record = json.loads(invocation.event)["Records"][0]
    assert record["eventName"] == "ObjectRemoved:Delete"
    assert set(record["s3"]["object"]) == {"key", "sequencer"}
    response = await AsyncClient().delete("/buckets/photos/uploads/a.txt", headers=auth())
    assert response.status_code == 404


@TRANSACTIONAL
async def test_keys_outside_the_prefix_or_suffix_filter_send_no_event(worker):
    function = await make_function(READER)
    await setup(function)
    client = AsyncClient()
    for key in ("uploads/photo.jpg", "other/notes.txt"):
        response = await client.put(
            f"/buckets/photos/{key}", data=b"x", content_type="text/plain", headers=auth()
        )
        assert response.status_code == 200
    assert await AsyncEvent.objects.acount() == 0
    assert await BucketObject.objects.acount() == 2


@TRANSACTIONAL
async def test_an_oversize_upload_is_413_and_an_unknown_bucket_404(worker):
    function = await make_function(READER)
    await setup(function)
    client = AsyncClient()
    response = await client.put(
        "/buckets/photos/uploads/big.txt",
        data=b"x" * (5 * 1024 * 1024 + 1),
        content_type="text/plain",
        headers=auth(),
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "EntityTooLarge"
    assert "5 MB" in response.json()["error"]["message"]
    response = await client.put("/buckets/nope/a.txt", data=b"x", content_type="text/plain", headers=auth())
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NoSuchBucket"
    response = await client.put("/buckets/photos/a.txt", data=b"x", content_type="text/plain")
    assert response.status_code == 401
    assert await BucketObject.objects.acount() == 0


def test_bucket_names_follow_the_s3_rules(db):
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.create(username="ada")
    for bad in ("ab", "Photos", "-photos", "a..b", "x" * 64):
        with pytest.raises(buckets.BucketError) as caught:
            buckets.create_bucket(owner, bad)
        assert caught.value.code == "InvalidBucketName"
    buckets.create_bucket(owner, "my.photos-2")
    with pytest.raises(buckets.BucketError) as caught:
        buckets.create_bucket(owner, "my.photos-2")
    assert caught.value.status == 409


@pytest.mark.django_db
def test_service_refusals_never_repeat_the_arguments(django_user_model):
    from sandbox.engine.outcomes import FunctionSpec
    from triggers import services

    owner = django_user_model.objects.create_user("ada")
    buckets.create_bucket(owner, "secret-bucket")
    spec = FunctionSpec(name="fn", handler="lambda_function.handler", files={}, key=None)
    calls = [
        ("buckets.get_object", {"bucket": "A" * 6_000_000, "key": "k"}),
        ("buckets.get_object", {"bucket": "secret-bucket", "key": "K" * 6_000_000}),
        ("buckets.get_object", {"bucket": "secret-bucket", "key": "plans.txt"}),
        ("buckets.list_objects", {"bucket": "secret-bucket", "prefix": "P" * 5000}),
        ("buckets.list_objects", {"bucket": "no-such-bucket"}),
        ("S" * 100_000, {}),
    ]
    for op, args in calls:
        with pytest.raises(services.ServiceError) as refused:
            asyncio.run(services.handle(spec, op, args))
        message = str(refused.value)
        assert len(message) < 200, message
        echoes = ("AAAA", "KKKK", "PPPP", "SSSS", "secret-bucket", "plans.txt")
        assert not any(echo in message for echo in echoes), message
