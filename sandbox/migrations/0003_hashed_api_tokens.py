"""API tokens are stored as their SHA-256 (and a short hint), never in clear: existing tokens
are hashed in place, so they keep working."""

import hashlib

from django.db import migrations, models


def hash_existing(apps, schema_editor):
    ApiToken = apps.get_model("sandbox", "ApiToken")
    for token in ApiToken.objects.all():
        token.digest = hashlib.sha256(token.key.encode()).hexdigest()
        token.hint = token.key[:6]
        token.save(update_fields=["digest", "hint"])


class Migration(migrations.Migration):
    dependencies = [
        ("sandbox", "0002_scaling"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken", name="digest", field=models.CharField(max_length=64, null=True)
        ),
        migrations.AddField(
            model_name="apitoken",
            name="hint",
            field=models.CharField(blank=True, max_length=8, default=""),
            preserve_default=False,  # "" only for the rows that exist now
        ),
        migrations.RunPython(hash_existing, migrations.RunPython.noop),
        migrations.RemoveField(model_name="apitoken", name="key"),
        migrations.AlterField(
            model_name="apitoken", name="digest", field=models.CharField(max_length=64, unique=True)
        ),
    ]
