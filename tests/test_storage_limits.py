"""What one learner may store, and for how long (docs/security.md, attack 8; settings.STORAGE):
bucket objects and queue messages have per-learner quotas; invocation records are trimmed to
each learner's newest ones; everything has an age after which it is pruned, by the worker's
loop and by `manage.py prune_storage`."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from sandbox.models import ApiToken, Function, Invocation
from tests.trigger_support import eventually, make_function, trigger_worker
from triggers import buckets, queues
from triggers.models import AsyncEvent, BucketObject, QueueMessage
from triggers.retention import prune

User = get_user_model()


def learner(name):
    user = User.objects.create_user(username=name)
    return user, Function.objects.create(owner=user, name=f"{name}-fn")


def api(user):
    return Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(user)}")


def test_a_learners_buckets_have_an_object_and_a_byte_quota(db, settings):
    settings.STORAGE = {**settings.STORAGE, "BUCKET_OBJECTS_PER_LEARNER": 3, "BUCKET_BYTES_PER_LEARNER": 2048}
    ada, _ = learner("ada")
    photos = buckets.create_bucket(ada, "photos")
    notes = buckets.create_bucket(ada, "notes")
    buckets.put_object(photos, "a", b"1" * 100)
    buckets.put_object(notes, "b", b"2" * 100)
    buckets.put_object(notes, "c", b"3" * 100)
    with pytest.raises(buckets.BucketError, match="BUCKET_OBJECTS_PER_LEARNER") as refused:
        buckets.put_object(photos, "d", b"4")
    assert refused.value.status == 403 and refused.value.code == "QuotaExceeded"
    buckets.put_object(photos, "a", b"1" * 1500)  # overwriting a key frees its old size
    response = api(ada).put("/buckets/notes/b", b"2" * 600, content_type="text/plain")
    assert response.status_code == 403 and "BUCKET_BYTES_PER_LEARNER" in response.json()["error"]["message"]
    assert BucketObject.objects.filter(bucket__owner=ada).count() == 3
    # Another learner is not held by Ada's quota.
    bob, _ = learner("bob")
    buckets.create_bucket(bob, "bobs")
    assert api(bob).put("/buckets/bobs/x", b"hello", content_type="text/plain").status_code == 200


def test_a_learners_queues_have_a_message_quota(db, settings):
    settings.STORAGE = {**settings.STORAGE, "QUEUE_MESSAGES_PER_LEARNER": 3}
    ada, _ = learner("ada")
    orders = queues.create_queue(ada, "orders")
    other = queues.create_queue(ada, "other")
    for n in range(3):
        queues.send_message(orders if n else other, f"m{n}")
    with pytest.raises(queues.QueueError, match="QUEUE_MESSAGES_PER_LEARNER"):
        queues.send_message(orders, "one too many")
    response = api(ada).post("/queues/orders/messages", {"body": "x"}, content_type="application/json")
    assert response.status_code == 400 and "QUEUE_MESSAGES_PER_LEARNER" in response.content.decode()
    assert QueueMessage.objects.count() == 3
    bob, _ = learner("bob")
    assert queues.send_message(queues.create_queue(bob, "bobs"), "fine").pk


def _invocations(function, count, age=timedelta(0), status=Invocation.OK):
    now = timezone.now()
    return [
        Invocation.objects.create(
            function=function, status=status, event="{}", created=now - age - timedelta(seconds=n)
        )
        for n in range(count)
    ]


def test_pruning_trims_each_learners_history_and_removes_what_is_too_old(db, settings):
    settings.STORAGE = {**settings.STORAGE, "HISTORY_PER_LEARNER": 10}
    ada, ada_fn = learner("ada")
    bob, bob_fn = learner("bob")
    newest = _invocations(ada_fn, 15)
    running = _invocations(ada_fn, 1, age=timedelta(hours=1), status=Invocation.RUNNING)
    _invocations(bob_fn, 5)
    _invocations(bob_fn, 2, age=timedelta(days=15))
    old_event = AsyncEvent.objects.create(function=bob_fn, event="{}", status=AsyncEvent.DEAD)
    AsyncEvent.objects.filter(pk=old_event.pk).update(created=timezone.now() - timedelta(days=15))
    pending = AsyncEvent.objects.create(function=bob_fn, event="{}")
    AsyncEvent.objects.filter(pk=pending.pk).update(created=timezone.now() - timedelta(days=15))
    queue = queues.create_queue(bob, "orders")
    queues.send_message(queue, "fresh")
    stale = queues.send_message(queue, "stale")
    QueueMessage.objects.filter(pk=stale.pk).update(sent=timezone.now() - timedelta(days=5))
    bucket = buckets.create_bucket(bob, "photos")
    buckets.put_object(bucket, "new", b"1")
    buckets.put_object(bucket, "old", b"2")
    BucketObject.objects.filter(key="old").update(modified=timezone.now() - timedelta(days=15))

    counts = prune()

    assert counts == {"invocations": 7, "async_events": 1, "queue_messages": 1, "bucket_objects": 1}
    kept = set(Invocation.objects.filter(function=ada_fn).values_list("pk", flat=True))
    assert kept == {i.pk for i in newest[:10]} | {running[0].pk}  # a running one is never pruned
    assert Invocation.objects.filter(function=bob_fn).count() == 5
    assert AsyncEvent.objects.filter(pk=pending.pk).exists()  # still to run: its max age decides
    assert list(QueueMessage.objects.values_list("body", flat=True)) == ["fresh"]
    assert list(BucketObject.objects.values_list("key", flat=True)) == ["new"]
    assert prune() == {"invocations": 0, "async_events": 0, "queue_messages": 0, "bucket_objects": 0}


def test_the_prune_storage_command_prunes_now(db):
    _, function = learner("ada")
    _invocations(function, 3, age=timedelta(days=30))
    out = StringIO()
    call_command("prune_storage", stdout=out)
    assert "invocations: 3 deleted" in out.getvalue()
    assert not Invocation.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_the_worker_prunes_old_records_on_its_own_and_keeps_serving(settings):
    from asgiref.sync import sync_to_async

    old_function = await make_function("def handler(event, context):\n    return 1\n")
    await sync_to_async(_invocations)(old_function, 2, age=timedelta(days=30))
    async with trigger_worker(settings):
        from sandbox.worker import start_invocation, wait_until_finished

        await eventually(lambda: not Invocation.objects.filter(function=old_function).exists())
        fresh = await wait_until_finished(await start_invocation(old_function, "{}", "console"))
        assert fresh.status == Invocation.OK
