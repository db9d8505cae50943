"""Event sources, all stored in the database so they survive a restart: buckets and their objects,
queues and their messages, schedules, and the asynchronous-invoke queue with its retries."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from sandbox.models import Function

MAX_OBJECT_BYTES = 5 * 1024 * 1024
MAX_MESSAGE_BYTES = 256 * 1024


class Bucket(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="buckets")
    name = models.CharField(max_length=63, unique=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def arn(self):
        return f"arn:aws:s3:::{self.name}"


class BucketObject(models.Model):
    bucket = models.ForeignKey(Bucket, on_delete=models.CASCADE, related_name="contents")
    key = models.CharField(max_length=1024)
    body = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    etag = models.CharField(max_length=32)
    content_type = models.CharField(max_length=200, default="application/octet-stream")
    modified = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["bucket", "key"], name="unique_object_key")]

    def __str__(self):
        return f"{self.bucket}/{self.key}"


class BucketGrant(models.Model):
    """The function may read the bucket (get_object, list_objects). Subscribing grants it."""

    bucket = models.ForeignKey(Bucket, on_delete=models.CASCADE, related_name="grants")
    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="bucket_grants")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bucket", "function"], name="unique_bucket_grant")]


class BucketSubscription(models.Model):
    """S3 event notification: object created / removed events under prefix/suffix -> async invoke."""

    bucket = models.ForeignKey(Bucket, on_delete=models.CASCADE, related_name="subscriptions")
    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="bucket_subscriptions")
    prefix = models.CharField(max_length=200, blank=True)
    suffix = models.CharField(max_length=200, blank=True)
    qualifier = models.CharField(max_length=128, blank=True)  # "" = $LATEST, or an alias
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created", "id"]

    def matches(self, key):
        return key.startswith(self.prefix) and key.endswith(self.suffix)


class Queue(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="queues")
    name = models.CharField(max_length=80, unique=True)
    visibility_timeout_s = models.FloatField(default=30)
    max_receive_count = models.PositiveIntegerField(default=3)
    dead_letter_queue = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="source_queues"
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def arn(self):
        from sandbox.engine.rules.events import ACCOUNT_ID, REGION

        return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{self.name}"


class QueueMessage(models.Model):
    """Visible when visible_at <= now; in flight (received, not deleted) otherwise."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="messages")
    message_id = models.UUIDField(default=uuid.uuid4, unique=True)
    body = models.TextField()
    md5 = models.CharField(max_length=32)
    attributes = models.JSONField(default=dict, blank=True)  # messageAttributes
    sent = models.DateTimeField(default=timezone.now)
    visible_at = models.DateTimeField(default=timezone.now, db_index=True)
    receive_count = models.PositiveIntegerField(default=0)
    first_received = models.DateTimeField(null=True, blank=True)
    receipt = models.CharField(max_length=64, blank=True)
    moved_from = models.CharField(max_length=80, blank=True)  # the source queue, in a DLQ

    class Meta:
        ordering = ["sent", "id"]

    def __str__(self):
        return str(self.message_id)

    @property
    def in_flight(self):
        return self.receive_count > 0 and self.visible_at > timezone.now()


class QueueSubscription(models.Model):
    """An event source mapping: the poller delivers batches of the queue to the function."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="subscriptions")
    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="queue_subscriptions")
    batch_size = models.PositiveIntegerField(default=10)
    batch_window_s = models.FloatField(default=0)
    report_batch_item_failures = models.BooleanField(default=True)
    enabled = models.BooleanField(default=True)
    qualifier = models.CharField(max_length=128, blank=True)  # "" = $LATEST, or an alias
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            models.UniqueConstraint(fields=["queue", "function"], name="unique_queue_subscription")
        ]


class Schedule(models.Model):
    """An EventBridge schedule rule targeting one function.

    `next_fire` is the schedule time of the next event; `due` is when it really fires (earlier
    than next_fire when timers are accelerated by settings.TIMER_SCALE).
    """

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=64)
    expression = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    qualifier = models.CharField(max_length=128, blank=True)  # "" = $LATEST, or an alias
    next_fire = models.DateTimeField(null=True, blank=True)
    due = models.DateTimeField(null=True, blank=True, db_index=True)
    last_fired = models.DateTimeField(null=True, blank=True)
    fire_count = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created", "id"]


class AsyncEvent(models.Model):
    """One asynchronous invocation request: stored, run, retried, or dead-lettered."""

    PENDING, RUNNING, SUCCEEDED, DEAD = "pending", "running", "succeeded", "dead"
    STATUSES = [(s, s) for s in (PENDING, RUNNING, SUCCEEDED, DEAD)]

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="async_events")
    request_id = models.UUIDField(default=uuid.uuid4, unique=True)
    trigger = models.CharField(max_length=32, default="api")
    qualifier = models.CharField(max_length=128, blank=True)  # resolved again on each attempt
    event = models.TextField()
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    max_retries = models.PositiveIntegerField(default=2)
    max_age_s = models.FloatField(default=6 * 3600)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_invocation = models.ForeignKey(
        "sandbox.Invocation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_error = models.JSONField(null=True, blank=True)
    last_status = models.CharField(max_length=16, blank=True)
    dead_reason = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return f"async {self.request_id} {self.status}"
