from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Sandbox (execution engine)"

    def ready(self):
        from django.core.signals import request_finished

        from sandbox.db_threads import close_request_thread_connections
        from sandbox.web import signin  # noqa: F401  (counts failed sign-ins)

        request_finished.connect(close_request_thread_connections)
