import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

JOIN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud from a projector


def new_join_code():
    return "".join(secrets.choice(JOIN_ALPHABET) for _ in range(6))


class Lesson(models.Model):
    """One lesson directory of lessons/content, as `manage.py sync_lessons` last loaded it."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    order = models.PositiveIntegerField(default=0)
    summary = models.TextField(blank=True)
    concepts = models.JSONField(default=list, blank=True)
    minutes = models.PositiveIntegerField(default=15)
    intro_md = models.TextField(blank=True)
    source_path = models.CharField(max_length=300, blank=True)
    active = models.BooleanField(default=True)
    synced = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["order", "slug"]

    def __str__(self):
        return self.title


class Step(models.Model):
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body_md = models.TextField(blank=True)
    starter_code = models.TextField()
    solution_code = models.TextField()  # never sent to a student's page
    handler = models.CharField(max_length=64, default="handler")
    function_config = models.JSONField(default=dict)
    solution_config = models.JSONField(default=dict)
    events = models.JSONField(default=list)  # the events the check sends, in order
    hidden_events = models.JSONField(default=list, blank=True)  # sent after them, never shown
    run = models.JSONField(default=dict)
    checks = models.JSONField(default=list)
    hints = models.JSONField(default=list, blank=True)  # a nudge, the concept, the code
    predict = models.JSONField(default=dict, blank=True)  # {question, measure, choices?, explain?}
    buckets = models.JSONField(default=list, blank=True)  # lesson buckets the check sets up

    def hint_after(self, failures):
        """The hint for a learner who failed `failures` times: one stage further each time, the
        last (the code) only from the third failure on."""
        if not self.hints or failures < 1:
            return ""
        return self.hints[min(failures, len(self.hints)) - 1]

    class Meta:
        ordering = ["lesson", "number"]
        constraints = [models.UniqueConstraint(fields=["lesson", "number"], name="unique_step_number")]

    def __str__(self):
        return f"{self.lesson.slug} step {self.number}"


class Classroom(models.Model):
    name = models.CharField(max_length=120)
    join_code = models.CharField(max_length=12, unique=True, default=new_join_code)
    instructor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="classrooms"
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    display_name = models.CharField(max_length=60)
    joined = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["display_name"]
        constraints = [models.UniqueConstraint(fields=["classroom", "user"], name="one_membership")]

    def __str__(self):
        return f"{self.display_name} in {self.classroom}"


class StepProgress(models.Model):
    """A learner's work on one step: their function, attempts, and when the check passed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="step_progress")
    membership = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="progress"
    )
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="progress")
    function = models.ForeignKey("sandbox.Function", null=True, blank=True, on_delete=models.SET_NULL)
    attempts = models.PositiveIntegerField(default=0)
    started = models.DateTimeField(default=timezone.now)
    last_attempt = models.DateTimeField(null=True, blank=True)
    passed_at = models.DateTimeField(null=True, blank=True)
    last_message = models.TextField(blank=True)
    prediction = models.IntegerField(null=True, blank=True)  # asked before the first Check
    measured = models.IntegerField(null=True, blank=True)  # what the first Check after it saw

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "step"], name="one_progress_per_step")]

    @property
    def predicted_right(self):
        """True/False once a prediction has been measured, else None."""
        if self.prediction is None or self.measured is None:
            return None
        return self.prediction == self.measured

    def __str__(self):
        return f"{self.user} on {self.step}"

    @property
    def passed(self):
        return self.passed_at is not None

    def state(self, now=None):
        """passed / stuck (working > 5 min without passing) / attempted / started."""
        if self.passed_at:
            return "passed"
        now = now or timezone.now()
        if self.attempts and (now - self.started).total_seconds() > 300:
            return "stuck"
        return "attempted" if self.attempts else "started"
