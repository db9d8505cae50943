"""The Triggers tab: reachable from the other tabs, private to the function's owner, and its
forms create buckets, uploads, queues and messages, or say clearly what was wrong."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from sandbox.models import Function
from triggers.models import Bucket, BucketObject, Queue, QueueMessage


@pytest.fixture
def owner_client(db):
    owner = get_user_model().objects.create(username="ada")
    function = Function.objects.create(owner=owner, name="thumbs")
    client = Client()
    client.force_login(owner)
    return client, function


def act(client, function, **data):
    return client.post(f"/functions/{function.slug}/triggers/action", data, follow=True).content.decode()


def test_the_tab_is_linked_from_the_playground_and_scaling_pages(owner_client):
    client, function = owner_client
    url = f"/functions/{function.slug}/triggers/"
    for page in (f"/functions/{function.slug}/", f"/functions/{function.slug}/scale/"):
        assert f'href="{url}">Triggers</a>' in client.get(page).content.decode()
    html = client.get(url).content.decode()
    assert f"/fn/{function.slug}/" in html
    assert "curl -i -X POST" in html


def test_someone_elses_function_has_no_triggers_page(owner_client):
    _, function = owner_client
    other = Client()
    other.force_login(get_user_model().objects.create(username="bob"))
    assert other.get(f"/functions/{function.slug}/triggers/").status_code == 404


def test_the_page_creates_a_bucket_and_uploads_to_it(owner_client):
    client, function = owner_client
    html = act(client, function, action="bucket_create", name="photos")
    assert "Bucket photos created." in html
    upload = SimpleUploadedFile("cat.txt", b"meow", content_type="text/plain")
    html = act(client, function, action="bucket_upload", bucket="photos", key="pets/cat.txt", file=upload)
    assert "Uploaded pets/cat.txt (4 bytes) to photos." in html
    assert BucketObject.objects.get(key="pets/cat.txt").etag == "4a4be40c96ac6314e91d93f38043a634"
    html = act(client, function, action="bucket_create", name="Bad_Name")
    assert "A bucket name is 3-63 characters" in html
    html = act(client, function, action="bucket_upload", bucket="nope", file=upload)
    assert "The bucket &#x27;nope&#x27; does not exist." in html
    assert Bucket.objects.count() == 1


def test_an_oversize_upload_from_the_page_says_so(owner_client):
    client, function = owner_client
    act(client, function, action="bucket_create", name="photos")
    big = SimpleUploadedFile("big.bin", b"x" * (5 * 1024 * 1024 + 1))
    html = act(client, function, action="bucket_upload", bucket="photos", file=big)
    assert "the limit here is 5 MB" in html
    assert not BucketObject.objects.exists()


def test_the_page_creates_a_queue_with_a_dlq_sends_and_shows_messages(owner_client):
    client, function = owner_client
    act(client, function, action="queue_create", name="orders-dlq")
    html = act(
        client,
        function,
        action="queue_create",
        name="orders",
        visibility_timeout_s="5",
        max_receive_count="2",
        dead_letter_queue="orders-dlq",
    )
    assert "Queue orders created." in html
    assert Queue.objects.get(name="orders").dead_letter_queue.name == "orders-dlq"
    html = act(client, function, action="queue_send", queue="orders", body='{"order": 7}', count="2")
    assert "Sent 2 message(s) to orders" in html
    assert QueueMessage.objects.filter(queue__name="orders").count() == 2
    assert html.count("{&quot;order&quot;: 7}") >= 2
    html = act(client, function, action="queue_send", queue="orders", body="")
    assert "must not be empty" in html
    html = act(client, function, action="queue_create", name="bad name!")
    assert "A queue name is 1-80 characters" in html
    html = act(client, function, action="queue_create", name="q2", visibility_timeout_s="lots")
    assert "Visibility timeout must be a number." in html
