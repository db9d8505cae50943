import hashlib
import secrets
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from sandbox.engine.invocation import record_json
from sandbox.layers.arns import layer_arn, layer_version_arn

DEFAULT_CODE = """import json

def handler(event, context):
    print("Hello from", context.function_name)
    return {
        "statusCode": 200,
        "body": json.dumps({"message": "Hello, serverless!"}),
    }
"""

MODULE_NAME = "lambda_function"
LATEST = "$LATEST"  # the unpublished, editable version
LIMITS = settings.SANDBOX  # the one table of limits (config/settings.py)
# What a published version freezes of $LATEST (a list of layer ARNs joins it with layers).
SNAPSHOT_FIELDS = ("code", "handler", "memory_mb", "timeout_s", "environment", "logging")


class Function(models.Model):
    """A learner's function: code and configuration, owned by one user (guests included)."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=64)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="functions")
    code = models.TextField(default=DEFAULT_CODE)
    handler = models.CharField(max_length=64, default="handler")
    memory_mb = models.PositiveIntegerField(
        default=LIMITS["MEMORY_MB_MIN"],
        validators=[MinValueValidator(LIMITS["MEMORY_MB_MIN"]), MaxValueValidator(LIMITS["MEMORY_MB_MAX"])],
    )
    timeout_s = models.PositiveIntegerField(
        default=3,
        validators=[MinValueValidator(LIMITS["TIMEOUT_S_MIN"]), MaxValueValidator(LIMITS["TIMEOUT_S_MAX"])],
    )
    environment = models.JSONField(default=dict, blank=True)
    # Lambda's LoggingConfig: log_format, application_log_level, system_log_level ({} = defaults).
    logging = models.JSONField(default=dict, blank=True)
    # None = unreserved (shares the account's pool); 0 disables the function. Provisioned
    # concurrency is configured on a version or an alias (ProvisionedConcurrency), as on AWS.
    reserved_concurrency = models.PositiveIntegerField(null=True, blank=True)
    # The qualifier the function URL (/fn/<slug>/) invokes: "" = $LATEST, or an alias name.
    url_qualifier = models.CharField(max_length=128, blank=True)
    # Layer version ARNs, in the order Lambda extracts them into /opt (sandbox/layers/attach.py).
    layers = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = f"{slugify(self.name)[:60] or 'fn'}-{secrets.token_hex(3)}"
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("function", args=[self.slug])

    @property
    def handler_path(self):
        return f"{MODULE_NAME}.{self.handler}"


class FunctionVersion(models.Model):
    """A published version: an immutable snapshot of $LATEST's code and configuration, numbered
    1, 2, … per function. Saving an existing version raises VersionImmutable."""

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    description = models.CharField(max_length=256, blank=True)
    code = models.TextField()
    handler = models.CharField(max_length=64)
    memory_mb = models.PositiveIntegerField()
    timeout_s = models.PositiveIntegerField()
    environment = models.JSONField(default=dict, blank=True)
    logging = models.JSONField(default=dict, blank=True)
    layers = models.JSONField(default=list, blank=True)  # layer version ARNs, in order (none yet)
    code_sha256 = models.CharField(max_length=64)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["function", "number"]
        constraints = [models.UniqueConstraint(fields=["function", "number"], name="unique_version_number")]

    def __str__(self):
        return f"{self.function}:{self.number}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise VersionImmutable(
                f"Version {self.number} of {self.function} is published: it cannot change."
            )
        super().save(*args, **kwargs)


class VersionImmutable(Exception):
    pass


class Alias(models.Model):
    """A name that points at one version, optionally sending a share of its traffic to a second
    one: routing = {"<version>": weight 0–1} (Lambda's AdditionalVersionWeights)."""

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=128)
    function_version = models.CharField(max_length=16)  # "$LATEST" or a version number
    routing = models.JSONField(default=dict, blank=True)
    description = models.CharField(max_length=256, blank=True)
    revision = models.UUIDField(default=uuid.uuid4)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["function", "name"]
        constraints = [models.UniqueConstraint(fields=["function", "name"], name="unique_alias_name")]

    def __str__(self):
        return f"{self.function}:{self.name}"


class ProvisionedConcurrency(models.Model):
    """Provisioned concurrency of one qualifier (a version number or an alias name), as AWS
    configures it: never on $LATEST, at most one configuration per version."""

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="provisioned_configs")
    qualifier = models.CharField(max_length=128)
    requested = models.PositiveIntegerField()
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["function", "qualifier"]
        constraints = [
            models.UniqueConstraint(fields=["function", "qualifier"], name="unique_provisioned_qualifier")
        ]

    def __str__(self):
        return f"{self.function}:{self.qualifier} provisioned {self.requested}"


class Invocation(models.Model):
    """One invocation, saved as it finishes (or marked failed when its worker died)."""

    QUEUED, RUNNING = "queued", "running"
    OK, ERROR, TIMEOUT, OOM, CRASHED = "ok", "error", "timeout", "oom", "crashed"
    THROTTLED, FAILED = "throttled", "failed"
    STATUSES = [(s, s) for s in (QUEUED, RUNNING, OK, ERROR, TIMEOUT, OOM, CRASHED, THROTTLED, FAILED)]
    FINISHED = (OK, ERROR, TIMEOUT, OOM, CRASHED, THROTTLED, FAILED)

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="invocations")
    request_id = models.UUIDField(default=uuid.uuid4, unique=True)
    status = models.CharField(max_length=16, choices=STATUSES, default=QUEUED)
    trigger = models.CharField(max_length=32, default="console")
    qualifier = models.CharField(max_length=128, blank=True)  # what the caller named: "", "2", "live"
    executed_version = models.CharField(max_length=16, default=LATEST)  # the version that ran
    event = models.TextField(blank=True)
    cold = models.BooleanField(default=False)
    init_duration_ms = models.FloatField(null=True, blank=True)
    duration_ms = models.FloatField(default=0)
    billed_duration_ms = models.PositiveIntegerField(default=0)
    memory_size_mb = models.PositiveIntegerField(default=128)
    max_memory_used_mb = models.PositiveIntegerField(default=0)
    gb_seconds = models.FloatField(default=0)
    cost_usd = models.FloatField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    logs = models.TextField(blank=True)
    logs_truncated = models.BooleanField(default=False)
    failure_reason = models.CharField(max_length=300, blank=True)
    worker_id = models.CharField(max_length=100, blank=True)
    environment_name = models.CharField(max_length=64, blank=True)
    provisioned = models.BooleanField(default=False)
    # Ran on-demand while provisioned concurrency was configured and all of it was busy (or not
    # ready): CloudWatch's ProvisionedConcurrencySpilloverInvocations.
    spillover = models.BooleanField(default=False)
    load_test = models.ForeignKey(
        "LoadTest", null=True, blank=True, on_delete=models.SET_NULL, related_name="invocations"
    )
    power_tuning = models.ForeignKey(
        "PowerTuning", null=True, blank=True, on_delete=models.SET_NULL, related_name="invocations"
    )
    created = models.DateTimeField(default=timezone.now, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return f"{self.function} {self.request_id} {self.status}"

    @property
    def is_finished(self):
        return self.status in self.FINISHED

    @property
    def log_lines(self):
        return self.logs.splitlines() if self.logs else []

    def as_json(self):
        """The same object `manage.py invoke --json` prints."""
        return record_json(self, self.log_lines)


class LayerVersion(models.Model):
    """One immutable version of a layer: a zip of libraries that functions mount read-only at /opt.
    A learner's own, or public (no owner: the bundled layers, `manage.py sync_layers`)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="layer_versions",
    )
    name = models.CharField(max_length=140)
    version = models.PositiveIntegerField()
    description = models.CharField(max_length=256, blank=True)
    sha256 = models.CharField(max_length=64)  # of the zip; names its extracted directory
    code_size = models.PositiveBigIntegerField()  # the zip's bytes
    unzipped_size = models.PositiveBigIntegerField()
    file_count = models.PositiveIntegerField()
    content = models.BinaryField()  # the zip itself, so any worker host can extract it again
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "version"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name", "version"], name="unique_layer_version"),
            models.UniqueConstraint(
                fields=["name", "version"],
                condition=models.Q(owner__isnull=True),
                name="unique_public_layer_version",
            ),
        ]

    def __str__(self):
        return f"{self.name}:{self.version}"

    @property
    def public(self):
        return self.owner_id is None

    @property
    def arn(self):
        return layer_version_arn(self.name, self.version)

    @property
    def layer_arn(self):
        return layer_arn(self.name)


def token_digest(key):
    """What is stored of an API token: its SHA-256. A token is 256 random bits, so a plain hash
    is enough (no slow password hash needed), and a leaked database leaks no usable token."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A user's one API token, stored hashed: its key is shown once, when it is issued."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token")
    digest = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=8, blank=True)  # the key's first characters, to recognise it
    created = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"token of {self.user} ({self.hint}…)"

    @classmethod
    def issue(cls, user):
        """A new token for `user`, replacing any earlier one (which stops working). Returns the
        key: the only time it exists in clear."""
        key = secrets.token_urlsafe(32)
        cls.objects.update_or_create(
            user=user, defaults={"digest": token_digest(key), "hint": key[:6], "created": timezone.now()}
        )
        return key

    @classmethod
    def user_for(cls, key):
        """The active user whose token is `key`, or None."""
        token = cls.objects.select_related("user").filter(digest=token_digest(key)).first()
        return token.user if token is not None and token.user.is_active else None


class WorkerHeartbeat(models.Model):
    """Each sandbox worker touches its row every few seconds; a stale row means it died."""

    worker_id = models.CharField(max_length=100, unique=True)
    last_seen = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.worker_id


class EnvironmentRecord(models.Model):
    """One execution environment's life, for the scaling timeline."""

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="environment_records")
    name = models.CharField(max_length=64)
    version = models.CharField(max_length=16, default=LATEST)  # an environment runs one version
    provisioned = models.BooleanField(default=False)
    started = models.DateTimeField(default=timezone.now)
    ready = models.DateTimeField(null=True, blank=True)
    ended = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["started", "id"]

    def __str__(self):
        return self.name


class LoadTest(models.Model):
    """A bounded, server-side load run: N requests at concurrency C, or R requests/s for T s."""

    COUNT, RATE = "count", "rate"
    RUNNING, FINISHED, STOPPED = "running", "finished", "stopped"
    MAX_REQUESTS, MAX_CONCURRENCY, MAX_RATE, MAX_SECONDS = 500, 50, 50, 60

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="load_tests")
    mode = models.CharField(max_length=8, choices=[(COUNT, "count"), (RATE, "rate")], default=COUNT)
    requests = models.PositiveIntegerField(default=20)
    concurrency = models.PositiveIntegerField(default=5)
    rate = models.PositiveIntegerField(default=5)
    seconds = models.PositiveIntegerField(default=10)
    event = models.TextField(default="{}")
    qualifier = models.CharField(max_length=128, blank=True)  # the version or alias it invokes
    status = models.CharField(max_length=10, default=RUNNING)
    stop_requested = models.BooleanField(default=False)
    sent = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    started = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started"]

    def __str__(self):
        return f"load test {self.pk} of {self.function}"

    @property
    def planned(self):
        return self.requests if self.mode == self.COUNT else self.rate * self.seconds

    @property
    def percent(self):
        return min(100, round(100 * self.completed / self.planned)) if self.planned else 100


class PowerTuning(models.Model):
    """A power-tuning run, as the AWS Lambda Power Tuning tool does it: the function run N times
    at each of a set of memory sizes, in series, through the same pools and quotas as every other
    invocation. The function's own configuration is never changed. Its results are its
    invocations (sandbox/web/tuning_runs.py sums them up)."""

    RUNNING, FINISHED, STOPPED, FAILED = "running", "finished", "stopped", "failed"
    # Bounds: at most MAX_SIZES sizes, MAX_PER_SIZE invocations each, MAX_TOTAL in all.
    MAX_SIZES, MAX_PER_SIZE, MAX_TOTAL = 10, 50, 200
    DEFAULT_SIZES = [128, 256, 512, 1024, 1536, 3008]

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="power_tunings")
    memory_sizes = models.JSONField(default=list)  # MB, ascending
    invocations_per_size = models.PositiveIntegerField(default=10)
    event = models.TextField(default="{}")
    status = models.CharField(max_length=10, default=RUNNING)
    stop_requested = models.BooleanField(default=False)
    # Steps done of memory_sizes x invocations_per_size (a size cut short by an error counts whole).
    done = models.PositiveIntegerField(default=0)
    failure_reason = models.CharField(max_length=300, blank=True)
    started = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started", "-id"]

    def __str__(self):
        return f"power tuning {self.pk} of {self.function}"

    @property
    def planned(self):
        return len(self.memory_sizes) * self.invocations_per_size

    @property
    def percent(self):
        return min(100, round(100 * self.done / self.planned)) if self.planned else 100
