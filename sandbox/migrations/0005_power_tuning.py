"""Power tuning runs, and what the Monitor tab counts: the spillover of provisioned concurrency and
the tuning run an invocation belongs to."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sandbox', '0004_versions_aliases_logging'),
    ]

    operations = [
        migrations.AddField(
            model_name='invocation',
            name='spillover',
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name='PowerTuning',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('memory_sizes', models.JSONField(default=list)),
                ('invocations_per_size', models.PositiveIntegerField(default=10)),
                ('event', models.TextField(default='{}')),
                ('status', models.CharField(default='running', max_length=10)),
                ('stop_requested', models.BooleanField(default=False)),
                ('done', models.PositiveIntegerField(default=0)),
                ('failure_reason', models.CharField(blank=True, max_length=300)),
                ('started', models.DateTimeField(default=django.utils.timezone.now)),
                ('finished', models.DateTimeField(blank=True, null=True)),
                ('function', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='power_tunings', to='sandbox.function')),
            ],
            options={
                'ordering': ['-started', '-id'],
            },
        ),
        migrations.AddField(
            model_name='invocation',
            name='power_tuning',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='invocations', to='sandbox.powertuning'),
        ),
    ]
