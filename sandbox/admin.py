from django.contrib import admin

from sandbox.models import ApiToken, Function, Invocation, WorkerHeartbeat


@admin.register(Function)
class FunctionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "owner", "memory_mb", "timeout_s", "updated"]
    search_fields = ["name", "slug", "owner__username"]


@admin.register(Invocation)
class InvocationAdmin(admin.ModelAdmin):
    list_display = ["request_id", "function", "status", "cold", "duration_ms", "trigger", "created"]
    list_filter = ["status", "cold", "trigger"]
    search_fields = ["request_id", "function__name"]


admin.site.register(ApiToken)
admin.site.register(WorkerHeartbeat)
