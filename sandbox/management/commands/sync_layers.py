from django.core.management.base import BaseCommand

from sandbox.layers.bundled import bundled_zips, register


class Command(BaseCommand):
    help = (
        "Register the bundled layers (`make` builds them into var/bundled-layers) as public layers "
        "every learner can attach; a changed zip becomes the next version."
    )

    def handle(self, *args, **options):
        zips = bundled_zips()
        if not zips:
            self.stdout.write("==> No bundled layers built (make builds them into var/bundled-layers)")
        for path in zips:
            version, created = register(path)
            state = "registered" if created else "up to date"
            self.stdout.write(f"==> Bundled layer {version.arn} {state} ({version.description})")
