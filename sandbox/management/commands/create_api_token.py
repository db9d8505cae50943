from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from sandbox.models import ApiToken


class Command(BaseCommand):
    help = "Print USERNAME's API token, creating the user and the token if needed."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save()
        self.stdout.write(ApiToken.for_user(user).key)
