"""The load generator: bounded, server-side, through the same pool and rules as every other
invocation (so throttles, cold starts and quotas are real). It runs in the worker."""

import asyncio
import time

from asgiref.sync import sync_to_async
from django.utils import timezone

from sandbox.engine.pool import LOAD, Throttled
from sandbox.models import LoadTest
from sandbox.versions import VersionsError, resolve
from sandbox.worker import store
from sandbox.worker.configure import ensure_configured
from sandbox.worker.specs import function_spec
from sandbox.worker.state import state

PROGRESS_SECONDS = 0.25


@sync_to_async
def _load(load_test_id):
    return (
        LoadTest.objects.select_related("function").filter(pk=load_test_id, status=LoadTest.RUNNING).first()
    )


@sync_to_async
def _progress(load_test_id, sent, completed, final_status=None):
    fields = {"sent": sent, "completed": completed}
    if final_status:
        fields.update(status=final_status, finished=timezone.now())
    LoadTest.objects.filter(pk=load_test_id).update(**fields)
    return LoadTest.objects.filter(pk=load_test_id).values_list("stop_requested", flat=True).first()


async def run_load_test(load_test_id):
    load_test = await _load(load_test_id)
    if load_test is None:
        return
    function = load_test.function
    await ensure_configured(function)
    counts = {"sent": 0, "completed": 0}
    stop = asyncio.Event()
    in_flight = set()

    async def one():
        try:  # an alias with weighted routing draws for each request
            target = await sync_to_async(resolve)(function, load_test.qualifier)
        except VersionsError:
            target = None  # the alias was deleted mid-run: the request fails below
        invocation = await store.create_running(
            function,
            trigger="load",
            event=load_test.event,
            load_test=load_test,
            qualifier=load_test.qualifier,
            target=target,
        )
        request_id = str(invocation.request_id)
        try:
            if target is None:
                raise LookupError(f"The qualifier {load_test.qualifier!r} no longer exists.")
            spec = await sync_to_async(function_spec)(function, target.version)
            pool = state.pool_for(function, spec)
            record, placement = await pool.invoke(
                load_test.event,
                request_id=request_id,
                invoked_arn=spec.qualified_arn(load_test.qualifier),
                priority=LOAD,  # last: load tests leave room for learners' own invocations and Checks
            )
            await store.finish(request_id, record=record, placement=placement)
        except Throttled as exc:
            await store.finish_throttled(request_id, exc)
        except Exception as exc:  # keep the run going; the invocation says what happened
            await store.finish_failed(request_id, exc)
        finally:
            counts["completed"] += 1

    def launch():
        counts["sent"] += 1
        task = asyncio.ensure_future(one())
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        return task

    async def report_progress():
        while True:
            await asyncio.sleep(PROGRESS_SECONDS)
            if await _progress(load_test_id, counts["sent"], counts["completed"]):
                stop.set()

    reporter = asyncio.ensure_future(report_progress())
    try:
        if load_test.mode == LoadTest.COUNT:
            slots = asyncio.Semaphore(load_test.concurrency)
            for _ in range(load_test.requests):
                await slots.acquire()
                if stop.is_set():
                    slots.release()
                    break
                launch().add_done_callback(lambda _: slots.release())
        else:
            started = time.monotonic()
            interval = 1 / load_test.rate
            for n in range(load_test.rate * load_test.seconds):
                delay = started + n * interval - time.monotonic()
                if delay > 0:
                    try:
                        await asyncio.wait_for(stop.wait(), delay)
                    except TimeoutError:
                        pass
                if stop.is_set():
                    break
                launch()
        if in_flight:
            await asyncio.gather(*list(in_flight), return_exceptions=True)
    finally:
        reporter.cancel()
        final = LoadTest.STOPPED if stop.is_set() else LoadTest.FINISHED
        await _progress(load_test_id, counts["sent"], counts["completed"], final)
