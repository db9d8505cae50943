"""The lessons app in Django's admin, for instructors: staff accounts with only the permissions
create_instructor grants (lessons are read-only there: they come from lessons/content via
sync_lessons; classrooms and memberships can be edited)."""

from django.contrib import admin

from lessons.models import Classroom, Lesson, Membership, Step, StepProgress


class StepInline(admin.TabularInline):
    model = Step
    fields = ("number", "title", "handler")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "order", "minutes", "active", "synced")
    list_filter = ("active",)
    search_fields = ("title", "slug")
    inlines = [StepInline]


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    list_display = ("lesson", "number", "title")
    list_filter = ("lesson",)
    # The reference solution stays out of the admin: a student made staff by mistake would see it.
    exclude = ("solution_code", "solution_config")


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("display_name", "user", "joined")
    readonly_fields = ("user", "joined")
    extra = 0


@admin.register(Classroom)
class ClassroomAdmin(admin.ModelAdmin):
    list_display = ("name", "join_code", "instructor", "created")
    search_fields = ("name", "join_code")
    inlines = [MembershipInline]

    def get_queryset(self, request):
        # An instructor sees their own classrooms; a superuser sees all.
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(instructor=request.user)


@admin.register(StepProgress)
class StepProgressAdmin(admin.ModelAdmin):
    list_display = ("user", "step", "attempts", "started", "passed_at")
    list_filter = ("step__lesson",)
    readonly_fields = ("user", "membership", "step", "function", "started", "last_attempt")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(membership__classroom__instructor=request.user)
