from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lessons", "0002_hints_hidden_events")]

    operations = [
        migrations.AddField(model_name="step", name="predict", field=models.JSONField(blank=True, default=dict)),
        migrations.AddField(model_name="step", name="buckets", field=models.JSONField(blank=True, default=list)),
        migrations.AddField(
            model_name="stepprogress", name="prediction", field=models.IntegerField(blank=True, null=True)
        ),
        migrations.AddField(
            model_name="stepprogress", name="measured", field=models.IntegerField(blank=True, null=True)
        ),
    ]
