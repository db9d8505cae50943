"""python manage.py create_instructor USERNAME --password PW: a user in the 'instructors' group,
staff with only the lessons app's permissions (see lessons/permissions.py)."""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from lessons.permissions import instructors_group


class Command(BaseCommand):
    help = "Create (or update) an instructor account who can create classrooms and see their dashboards."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", help="the password (or set INSTRUCTOR_PASSWORD)")

    def handle(self, *args, **options):
        password = options["password"] or os.environ.get("INSTRUCTOR_PASSWORD")
        if not password:
            raise CommandError("give --password PASSWORD (or INSTRUCTOR_PASSWORD in the environment)")
        if len(password) < 8:
            raise CommandError("the password must be at least 8 characters")
        User = get_user_model()
        user, created = User.objects.get_or_create(username=options["username"])
        user.set_password(password)
        user.is_staff = True  # the admin, limited to what the group grants
        user.save()
        user.groups.add(instructors_group())
        self.stdout.write(f"{'Created' if created else 'Updated'} instructor {user.username}.\n")
