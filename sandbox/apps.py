from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Sandbox (execution engine)"

    def ready(self):
        from sandbox.web import signin  # noqa: F401  (counts failed sign-ins)
