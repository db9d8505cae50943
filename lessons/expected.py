"""Expected answers that only doing the work gives, computed by the checker for the very event
an invocation received: `json_path: {path: digest, equals: {computed: sha256_rounds, args:
{rounds: "{event.rounds}"}}}`. Only the functions registered here can be named by a lesson
file (lesson files are data: they never carry code the server runs)."""

import hashlib

MAX_ROUNDS = 2_000_000
MAX_RECORDS = 1_000_000


def sha256_rounds(rounds, seed="coldstart", length=16):
    """The hex prefix of sha256 applied `rounds` times to `seed` (the billing lesson's work)."""
    rounds = int(rounds)
    if not 0 <= rounds <= MAX_ROUNDS:
        raise ValueError(f"rounds must be from 0 to {MAX_ROUNDS}")
    digest = str(seed).encode()
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()[: int(length)]


def padded_lengths(count, width=2000):
    """Total length of `count` records "x" * width + str(i) (the limits lesson's work)."""
    count = int(count)
    if not 0 <= count <= MAX_RECORDS:
        raise ValueError(f"count must be from 0 to {MAX_RECORDS}")
    return sum(int(width) + len(str(i)) for i in range(count))


def bucket_object(bucket, key):
    """The text of an object in a lesson bucket (what a granted function reads)."""
    from triggers.models import BucketObject

    obj = BucketObject.objects.filter(bucket__name=str(bucket), key=str(key)).first()
    if obj is None:
        raise ValueError(f"the bucket {bucket!r} has no object {key!r}")
    return bytes(obj.body).decode("utf-8", errors="replace")


def determinant(matrix):
    """The determinant of a small square matrix (Laplace expansion; the dependencies lesson)."""
    rows = [[float(x) for x in row] for row in matrix]
    if not rows or len(rows) > 4 or any(len(row) != len(rows) for row in rows):
        raise ValueError("a square matrix of at most 4x4")
    if len(rows) == 1:
        return rows[0][0]
    return sum(
        (-1) ** j * rows[0][j] * determinant([row[:j] + row[j + 1 :] for row in rows[1:]])
        for j in range(len(rows))
    )


def total(values):
    return sum(float(v) for v in values)


def mean(values):
    values = [float(v) for v in values]
    return sum(values) / len(values)


def item_count(items):
    return len(items)


REGISTRY = {
    "sha256_rounds": sha256_rounds,
    "padded_lengths": padded_lengths,
    "item_count": item_count,
    "bucket_object": bucket_object,
    "determinant": determinant,
    "mean": mean,
    "total": total,
}


def compute(spec, fill):
    """The value `spec` ({computed: name, args: {...}}) names, its args filled by `fill`."""
    function = REGISTRY[spec["computed"]]
    args = {key: fill(value) for key, value in (spec.get("args") or {}).items()}
    return function(**args)
