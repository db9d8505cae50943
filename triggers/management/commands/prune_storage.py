"""Delete stored data past its age or its learner's quota (settings.STORAGE), now."""

from django.core.management.base import BaseCommand

from triggers.retention import prune


class Command(BaseCommand):
    help = "Delete invocation records, async events, queue messages and bucket objects past their limits."

    def handle(self, *args, **options):
        counts = prune()
        self.stdout.write(", ".join(f"{name}: {n} deleted" for name, n in counts.items()))
