from django.db import migrations, models


def hint_to_hints(apps, schema_editor):
    Step = apps.get_model("lessons", "Step")
    for step in Step.objects.exclude(hint=""):
        step.hints = [step.hint]
        step.save(update_fields=["hints"])


class Migration(migrations.Migration):
    dependencies = [("lessons", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="step", name="hidden_events", field=models.JSONField(blank=True, default=list)
        ),
        migrations.AddField(model_name="step", name="hints", field=models.JSONField(blank=True, default=list)),
        migrations.RunPython(hint_to_hints, migrations.RunPython.noop),
        migrations.RemoveField(model_name="step", name="hint"),
    ]
