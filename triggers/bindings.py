"""Which version or alias an event source invokes: the function URL, bucket and queue
subscriptions and schedules can each be bound to an alias (or a version), "" meaning $LATEST.

sandbox.versions asks `alias_users` (settings.ALIAS_USERS) before it deletes an alias, so no
trigger is ever left pointing at nothing."""

from sandbox.models import LATEST
from sandbox.versions import VersionsError, check_qualifier

from .models import BucketSubscription, QueueSubscription, Schedule


class BindingError(ValueError):
    pass


def check_binding(function, qualifier):
    """The qualifier to store ("" for $LATEST); BindingError when it names nothing."""
    qualifier = (qualifier or "").strip()
    if qualifier in ("", LATEST):
        return ""
    try:
        check_qualifier(function, qualifier)
    except VersionsError as exc:
        raise BindingError(exc.message) from None
    return qualifier


def bind_function_url(function, qualifier):
    function.url_qualifier = check_binding(function, qualifier)
    function.save(update_fields=["url_qualifier", "updated"])
    return function.url_qualifier


def describe(qualifier):
    return qualifier or LATEST


def alias_users(function, name):
    """What of this app invokes `function` through the alias `name`."""
    found = []
    for sub in BucketSubscription.objects.filter(function=function, qualifier=name).select_related("bucket"):
        found.append(f"a subscription to bucket {sub.bucket.name}")
    for sub in QueueSubscription.objects.filter(function=function, qualifier=name).select_related("queue"):
        found.append(f"the subscription to queue {sub.queue.name}")
    for schedule in Schedule.objects.filter(function=function, qualifier=name):
        found.append(f"schedule {schedule.name}")
    return found
