"""The load generator: bounded, server-side, through the same pool and rules as every other
invocation (so throttles, cold starts and quotas are real). It runs in the worker."""

import asyncio
import time

from asgiref.sync import sync_to_async
from django.utils import timezone

from .models import Invocation, LoadTest
from .pool import Throttled
from .specs import function_spec

PROGRESS_SECONDS = 0.25


@sync_to_async
def _load(load_test_id):
    return (
        LoadTest.objects.select_related("function").filter(pk=load_test_id, status=LoadTest.RUNNING).first()
    )


@sync_to_async
def _create_invocation(load_test, worker_id):
    return Invocation.objects.create(
        function=load_test.function,
        load_test=load_test,
        trigger="load",
        event=load_test.event,
        status=Invocation.RUNNING,
        worker_id=worker_id,
        started=timezone.now(),
        memory_size_mb=load_test.function.memory_mb,
    )


@sync_to_async
def _progress(load_test_id, sent, completed, final_status=None):
    fields = {"sent": sent, "completed": completed}
    if final_status:
        fields.update(status=final_status, finished=timezone.now())
    LoadTest.objects.filter(pk=load_test_id).update(**fields)
    return LoadTest.objects.filter(pk=load_test_id).values_list("stop_requested", flat=True).first()


async def run_load_test(load_test_id, layer):
    from .worker import WORKER_ID, _finish, state

    load_test = await _load(load_test_id)
    if load_test is None:
        return
    function = load_test.function
    spec = await sync_to_async(function_spec)(function)
    pool = state.pool_for(function, spec)
    counts = {"sent": 0, "completed": 0}
    stop = asyncio.Event()
    in_flight = set()

    async def one():
        invocation = await _create_invocation(load_test, WORKER_ID)
        request_id = str(invocation.request_id)
        try:
            record, placement = await pool.invoke(load_test.event, request_id=request_id)
            await _finish(request_id, record=record, placement=placement)
        except Throttled as exc:
            await _finish(request_id, status=Invocation.THROTTLED, error=exc.as_error(), reason=exc.message)
        except Exception as exc:  # keep the run going; the invocation says what happened
            await _finish(
                request_id,
                status=Invocation.FAILED,
                reason=f"the sandbox worker failed: {exc}",
                error={"errorType": "Coldstart.WorkerError", "errorMessage": str(exc)},
            )
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
