# Versions, aliases, provisioned concurrency per qualifier, logging configuration, the version of
# each invocation and environment. Provisioned concurrency moves from the function (where AWS
# never had it) to an alias: a function that had some gets version 1 (or its next version) of
# its code and an alias "live" carrying the same count.

import base64
import hashlib

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.db import migrations, models


def move_provisioned_to_an_alias(apps, schema_editor):
    Function = apps.get_model("sandbox", "Function")
    FunctionVersion = apps.get_model("sandbox", "FunctionVersion")
    Alias = apps.get_model("sandbox", "Alias")
    ProvisionedConcurrency = apps.get_model("sandbox", "ProvisionedConcurrency")
    for function in Function.objects.filter(provisioned_concurrency__gt=0):
        version = FunctionVersion.objects.create(
            function=function,
            number=1,
            code=function.code,
            handler=function.handler,
            memory_mb=function.memory_mb,
            timeout_s=function.timeout_s,
            environment=function.environment,
            logging={},
            layers=[],
            code_sha256=base64.b64encode(hashlib.sha256(function.code.encode()).digest()).decode(),
        )
        Alias.objects.create(function=function, name="live", function_version=str(version.number))
        ProvisionedConcurrency.objects.create(
            function=function,
            qualifier="live",
            requested=function.provisioned_concurrency,
            since=function.provisioned_since or django.utils.timezone.now(),
        )


class Migration(migrations.Migration):

    dependencies = [
        ('sandbox', '0003_hashed_api_tokens'),
    ]

    operations = [
        migrations.AddField(
            model_name='environmentrecord',
            name='version',
            field=models.CharField(default='$LATEST', max_length=16),
        ),
        migrations.AddField(
            model_name='function',
            name='logging',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='function',
            name='url_qualifier',
            field=models.CharField(blank=True, max_length=128),
        ),
        migrations.AddField(
            model_name='invocation',
            name='executed_version',
            field=models.CharField(default='$LATEST', max_length=16),
        ),
        migrations.AddField(
            model_name='invocation',
            name='qualifier',
            field=models.CharField(blank=True, max_length=128),
        ),
        migrations.AddField(
            model_name='loadtest',
            name='qualifier',
            field=models.CharField(blank=True, max_length=128),
        ),
        migrations.CreateModel(
            name='Alias',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=128)),
                ('function_version', models.CharField(max_length=16)),
                ('routing', models.JSONField(blank=True, default=dict)),
                ('description', models.CharField(blank=True, max_length=256)),
                ('revision', models.UUIDField(default=uuid.uuid4)),
                ('created', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated', models.DateTimeField(auto_now=True)),
                ('function', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='aliases', to='sandbox.function')),
            ],
            options={
                'ordering': ['function', 'name'],
                'constraints': [models.UniqueConstraint(fields=('function', 'name'), name='unique_alias_name')],
            },
        ),
        migrations.CreateModel(
            name='FunctionVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField()),
                ('description', models.CharField(blank=True, max_length=256)),
                ('code', models.TextField()),
                ('handler', models.CharField(max_length=64)),
                ('memory_mb', models.PositiveIntegerField()),
                ('timeout_s', models.PositiveIntegerField()),
                ('environment', models.JSONField(blank=True, default=dict)),
                ('logging', models.JSONField(blank=True, default=dict)),
                ('layers', models.JSONField(blank=True, default=list)),
                ('code_sha256', models.CharField(max_length=64)),
                ('created', models.DateTimeField(default=django.utils.timezone.now)),
                ('function', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='versions', to='sandbox.function')),
            ],
            options={
                'ordering': ['function', 'number'],
                'constraints': [models.UniqueConstraint(fields=('function', 'number'), name='unique_version_number')],
            },
        ),
        migrations.CreateModel(
            name='ProvisionedConcurrency',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('qualifier', models.CharField(max_length=128)),
                ('requested', models.PositiveIntegerField()),
                ('since', models.DateTimeField(default=django.utils.timezone.now)),
                ('function', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='provisioned_configs', to='sandbox.function')),
            ],
            options={
                'ordering': ['function', 'qualifier'],
                'constraints': [models.UniqueConstraint(fields=('function', 'qualifier'), name='unique_provisioned_qualifier')],
            },
        ),
        migrations.RunPython(move_provisioned_to_an_alias, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='function',
            name='provisioned_concurrency',
        ),
        migrations.RemoveField(
            model_name='function',
            name='provisioned_since',
        ),
    ]
