from django.contrib.auth.decorators import user_passes_test
from django.contrib.auth.models import Group, Permission

INSTRUCTORS = "instructors"
# What an instructor may do in the admin: read lessons and progress, manage classrooms.
INSTRUCTOR_PERMISSIONS = (
    "view_lesson",
    "view_step",
    "view_classroom",
    "add_classroom",
    "change_classroom",
    "view_membership",
    "change_membership",
    "delete_membership",
    "view_stepprogress",
)


def is_instructor(user):
    return user.is_authenticated and (user.is_superuser or user.groups.filter(name=INSTRUCTORS).exists())


def instructors_group():
    """The instructors group, with exactly INSTRUCTOR_PERMISSIONS (made or repaired here)."""
    group, _ = Group.objects.get_or_create(name=INSTRUCTORS)
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="lessons", codename__in=INSTRUCTOR_PERMISSIONS)
    )
    return group


instructor_required = user_passes_test(is_instructor, login_url="lessons:instructor_login")
