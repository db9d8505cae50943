"""The path from request to record with the embedded worker: one write to create an invocation
and one to finish it (counted by the database itself), the saved end handed to the waiter, and
one stale-invocation sweeper per process that fails an invocation whose worker was lost and
wakes whoever waits for it."""

import textwrap
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from sandbox.models import Function, Invocation, WorkerHeartbeat
from sandbox.worker import start_invocation, wait_until_finished
from sandbox.worker.store import WORKER_ID
from tests.playground_support import embedded_worker

pytestmark = pytest.mark.django_db(transaction=True)

QUICK = textwrap.dedent(
    """
    def handler(event, context):
        print("one line")
        return {"n": event.get("n")}
    """
)
TABLE = Invocation._meta.db_table


@pytest.fixture
async def worker(transactional_db, settings):
    async with embedded_worker(settings):
        yield


@sync_to_async
def function_of(username):
    user = get_user_model().objects.create_user(username=username)
    return Function.objects.create(owner=user, name=f"{username}-fn", code=QUICK)


@pytest.fixture
def invocation_writes(transactional_db):
    """Every INSERT and UPDATE of an invocation row, from any thread's connection, as SQLite
    triggers record them: [(kind, request id, status)]."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE test_invocation_writes (kind TEXT, request_id TEXT, status TEXT)")
        for kind in ("INSERT", "UPDATE"):
            cursor.execute(
                f"CREATE TRIGGER test_count_{kind.lower()} AFTER {kind} ON {TABLE} BEGIN "
                f"INSERT INTO test_invocation_writes VALUES ('{kind}', NEW.request_id, NEW.status); END"
            )

    def writes():
        with connection.cursor() as cursor:
            cursor.execute("SELECT kind, request_id, status FROM test_invocation_writes")
            return cursor.fetchall()

    yield writes
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_count_insert")
        cursor.execute("DROP TRIGGER test_count_update")
        cursor.execute("DROP TABLE test_invocation_writes")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="counts writes with SQLite triggers")
async def test_an_api_invocation_is_one_insert_as_running_and_one_update_when_it_ends(
    worker, invocation_writes
):
    function = await function_of("ada")
    invocation = await start_invocation(function, '{"n": 7}', trigger="api")
    assert invocation.status == Invocation.RUNNING and invocation.worker_id == WORKER_ID  # no claim
    ended = await wait_until_finished(invocation)
    assert ended.status == Invocation.OK and ended.result == {"n": 7}
    assert ended.logs.splitlines()[-1].startswith("REPORT RequestId:")
    request_id = str(invocation.request_id).replace("-", "")
    writes = [
        (kind, status) for kind, rid, status in await sync_to_async(invocation_writes)() if rid == request_id
    ]
    assert writes == [("INSERT", Invocation.RUNNING), ("UPDATE", Invocation.OK)]
    saved = await Invocation.objects.aget(pk=invocation.pk)  # what the waiter got is what was saved
    assert (saved.status, saved.result, saved.logs, saved.cold) == (
        ended.status,
        ended.result,
        ended.logs,
        ended.cold,
    )
    assert saved.finished == ended.finished


async def test_the_sweeper_fails_an_invocation_whose_worker_was_lost_and_wakes_its_waiter(worker, settings):
    function = await function_of("ada")
    gone = "gone-host:1"
    await WorkerHeartbeat.objects.acreate(
        worker_id=gone, last_seen=timezone.now() - timedelta(seconds=settings.WORKER_STALE_SECONDS + 60)
    )
    lost = await Invocation.objects.acreate(
        function=function, event="{}", status=Invocation.RUNNING, worker_id=gone, started=timezone.now()
    )
    lost = await Invocation.objects.select_related("function").aget(pk=lost.pk)
    ended = await wait_until_finished(lost, extra_seconds=60)
    assert ended.status == Invocation.FAILED
    assert ended.error["errorType"] == "Coldstart.WorkerLost"
    assert f"The sandbox worker {gone} stopped" in ended.failure_reason


async def test_a_queued_invocation_no_worker_took_fails_with_the_reason(worker, settings):
    function = await function_of("ada")
    settings.QUEUE_STALE_SECONDS = 0.5
    queued = await Invocation.objects.acreate(
        function=function, event="{}", created=timezone.now() - timedelta(seconds=5)
    )
    queued = await Invocation.objects.select_related("function").aget(pk=queued.pk)
    ended = await wait_until_finished(queued, extra_seconds=60)
    assert ended.status == Invocation.FAILED
    assert "No sandbox worker picked this invocation up" in ended.failure_reason


def _request_in_thread(name, target):
    """Run `target` on a new thread (as asgiref runs a request's sync code) and return its result."""
    import threading

    result = {}
    thread = threading.Thread(target=lambda: result.update(value=target()), name=name)
    thread.start()
    thread.join(30)
    return result["value"]


def _finish_a_request_with_a_persistent_connection():
    """A request thread's connection, kept (CONN_MAX_AGE > 0, as on PostgreSQL): is it still
    open after request_finished?"""
    from django.core.signals import request_finished
    from django.db import connections

    connection = connections["default"]
    connection.close()  # opened again below, kept for CONN_MAX_AGE
    max_age = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 60
    try:
        connection.ensure_connection()
        request_finished.send(sender=None)
        return connection.connection is not None
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = max_age
        connection.close()


def test_a_request_threads_persistent_connection_is_closed_when_the_request_ends(transactional_db):
    assert _request_in_thread("request", _finish_a_request_with_a_persistent_connection) is False


async def test_the_database_threads_keep_their_connections(transactional_db):
    from sandbox.db_threads import in_db_thread

    assert await in_db_thread(_finish_a_request_with_a_persistent_connection)() is True


async def _messages_on(layer, channel):
    """Every message waiting on `channel` (the in-memory layer's), without blocking."""
    import asyncio

    messages = []
    while True:
        try:
            messages.append(await asyncio.wait_for(layer.receive(channel), 0.2))
        except TimeoutError:
            return messages


async def test_log_lines_go_to_a_follower_and_not_where_nobody_follows(worker):
    from channels.layers import get_channel_layer

    from sandbox.worker.channels import invocation_group

    layer = get_channel_layer()
    function = await function_of("ada")
    follower = await layer.new_channel()
    followed = await start_invocation(function, "{}", trigger="console", channel_name=follower)
    await wait_until_finished(followed)
    kinds = [m["type"] for m in await _messages_on(layer, follower)]
    assert "invocation.logs" in kinds and kinds[-1] == "invocation.done"

    # An API call: a channel that joins its group anyway gets the end, not the lines.
    onlooker = await layer.new_channel()
    quiet = await start_invocation(function, "{}", trigger="api")
    await layer.group_add(invocation_group(quiet.request_id), onlooker)
    ended = await wait_until_finished(quiet)
    assert ended.status == Invocation.OK and "one line" in ended.logs  # kept for the record
    assert [m["type"] for m in await _messages_on(layer, onlooker)] == ["invocation.done"]


async def test_a_waiter_that_joins_after_the_end_gets_it_without_reading_it_back(worker, monkeypatch):
    import asyncio

    from sandbox.worker import client

    function = await function_of("ada")
    invocation = await start_invocation(function, '{"n": 3}', trigger="api")
    while not await Invocation.objects.filter(pk=invocation.pk, status=Invocation.OK).aexists():
        await asyncio.sleep(0.05)  # it ends before anyone waits for it

    async def no_reload(pk):
        raise AssertionError("the waiter read the invocation back")

    monkeypatch.setattr(client, "_reload", no_reload)
    ended = await wait_until_finished(invocation, extra_seconds=0)
    assert ended.status == Invocation.OK and ended.result == {"n": 3}
