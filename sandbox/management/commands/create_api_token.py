from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from sandbox.models import ApiToken


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME (creating the user if needed) and print it. Only its hash "
        "is stored, so this is the one time it is shown; running it again replaces the token."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save()
        replaced = ApiToken.objects.filter(user=user).exists()
        self.stdout.write(ApiToken.issue(user))
        if replaced:
            self.stderr.write(f"The previous token of {username} no longer works.")
