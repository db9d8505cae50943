from django.apps import AppConfig


class TriggersConfig(AppConfig):
    name = "triggers"
    verbose_name = "Triggers (event sources)"

    def ready(self):
        from django.core.signals import request_started

        request_started.connect(_start_embedded_worker, dispatch_uid="triggers-start-worker")


async def _start_embedded_worker(sender, **kwargs):
    """Queue messages, schedules and async retries stored in the database are worked off by the
    worker's background loops; with the embedded worker those start on the server's first
    request (not only on the first invocation), so a restarted server resumes them.
    Only for the real ASGI server: test clients run their own loops."""
    from django.core.handlers.asgi import ASGIHandler

    if isinstance(sender, type) and issubclass(sender, ASGIHandler):
        import contextvars

        from sandbox.worker import ensure_embedded_worker, wake_external_workers

        wake_external_workers()
        # In a fresh context: the worker's tasks must not inherit this request's
        # ThreadSensitiveContext, or their database calls would wait for this request's sync
        # thread, which a sync-only middleware keeps busy while an async view waits for them.
        contextvars.Context().run(ensure_embedded_worker)
