"""Publishing a layer version: the zip is checked and extracted first (a refused zip leaves
nothing behind), then stored with the next version number of that name. Versions are immutable:
a new zip is always a new version."""

import hashlib
import itertools

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Sum

from sandbox.layers import layer_store
from sandbox.layers.archive import check_members, mib, open_zip
from sandbox.layers.arns import NAME
from sandbox.models import LayerVersion
from sandbox.web import ratelimit
from sandbox.web.fields import ConfigError

RESERVED_PREFIX = "coldstart-"  # the bundled, public layers
MAX_DESCRIPTION = 256


class StorageExceeded(Exception):
    """The learner's layers, or everyone's, would take more room than the LAYERS limits allow."""


class TooManyUploads(Exception):
    """More uploads this hour than LAYER_UPLOADS_PER_HOUR."""

    def __init__(self, retry_after_s):
        minutes = max(1, round(retry_after_s / 60))
        super().__init__(f"Too many layer uploads this hour; try again in about {minutes} minute(s).")
        self.retry_after_s = retry_after_s


def check_name(name, owner):
    """A layer name as Lambda allows it; a learner's may not take a public layer's name."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ConfigError("name", "name must be 1 to 140 letters, digits, '-' or '_'.")
    if owner is not None:
        public = LayerVersion.objects.filter(owner__isnull=True, name=name).exists()
        if public or name.startswith(RESERVED_PREFIX):
            raise ConfigError(
                "name", f"The name {name!r} is kept for the bundled public layers; choose another."
            )
    return name


def _check_room(owner, data, limits):
    """Refuse before extracting when the layers would pass a storage limit (counted by declared
    sizes here; extraction then holds the zip to them)."""
    with open_zip(data, limits) as archive:
        declared = sum(m.info.file_size for m in check_members(archive, limits))
    if owner is None:
        return  # the bundled layers: the server's own
    table = settings.LAYERS
    everyone = LayerVersion.objects.aggregate(total=Sum("unzipped_size"))["total"] or 0
    if everyone + declared > table["BYTES_TOTAL"]:
        raise StorageExceeded(
            f"The server's layer storage is full ({mib(table['BYTES_TOTAL'])} for all learners together); "
            "ask your instructor."
        )
    used = LayerVersion.objects.filter(owner=owner).aggregate(total=Sum("unzipped_size"))["total"] or 0
    if used + declared > table["BYTES_PER_LEARNER"]:
        raise StorageExceeded(
            f"Your layers take {mib(used)} unzipped and this one {mib(declared)}; "
            f"the limit is {mib(table['BYTES_PER_LEARNER'])} for all your layers together."
        )


def _count_upload(owner):
    verdict = ratelimit.hit("layer-upload", owner.pk, settings.LAYERS["UPLOADS_PER_HOUR"], 3600)
    if not verdict.allowed:
        raise TooManyUploads(verdict.retry_after_s)


def prepare(owner, name, data, description=""):
    """Everything checked before extracting (the database part): the learner's upload rate, name,
    description, the zip's entries and declared sizes, the room left. Returns (name, description)."""
    if owner is not None:
        _count_upload(owner)
    name = check_name(name, owner)
    description = str(description or "")
    if len(description) > MAX_DESCRIPTION:
        raise ConfigError("description", f"description must be at most {MAX_DESCRIPTION} characters.")
    _check_room(owner, data, layer_store().limits)
    return name, description


def extract(data):
    """Extract the zip into the host's store (the file-system part, no database): its SHA-256
    and the Extracted figures. Raises LayerZipError, leaving nothing behind."""
    sha256 = hashlib.sha256(data).hexdigest()
    return sha256, layer_store().extract(sha256, data)


def record(owner, name, description, data, sha256, extracted):
    """The new LayerVersion row, numbered after the latest of that name."""
    fields = {
        "owner": owner,
        "name": name,
        "description": description,
        "sha256": sha256,
        "code_size": len(data),
        "unzipped_size": extracted.unzipped_bytes,
        "file_count": extracted.files,
        "content": data,
    }
    for attempt in itertools.count():  # two uploads of one name at once: the second takes the next number
        try:
            with transaction.atomic():
                same = LayerVersion.objects.filter(owner=owner, name=name)
                latest = same.aggregate(latest=Max("version"))["latest"] or 0
                return LayerVersion.objects.create(version=latest + 1, **fields)
        except IntegrityError:
            if attempt >= 4:
                raise


def publish(owner, name, data, description=""):
    """A new version of the layer `name` of `owner` (None: a public layer) from the zip `data`.
    Raises ConfigError (name, description), LayerZipError (the zip), StorageExceeded or
    TooManyUploads."""
    name, description = prepare(owner, name, data, description)
    return record(owner, name, description, data, *extract(data))


async def apublish(owner, name, data, description=""):
    """publish() from async code: the extraction runs in a thread of its own, so the shared
    database thread (which the embedded worker needs too) is not held while a big zip unpacks."""
    name, description = await sync_to_async(prepare)(owner, name, data, description)
    sha256, extracted = await sync_to_async(extract, thread_sensitive=False)(data)
    return await sync_to_async(record)(owner, name, description, data, sha256, extracted)
