from django.contrib.auth.decorators import user_passes_test

INSTRUCTORS = "instructors"


def is_instructor(user):
    return user.is_authenticated and (user.is_superuser or user.groups.filter(name=INSTRUCTORS).exists())


instructor_required = user_passes_test(is_instructor, login_url="lessons:instructor_login")
