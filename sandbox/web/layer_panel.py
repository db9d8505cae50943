"""What the layers pages show: the layers a learner can attach, and a function's Layers panel
(its layers in order, and what else it can take)."""

from django.conf import settings

from sandbox.layers.archive import human_size
from sandbox.layers.arns import parse_version_arn
from sandbox.layers.attach import visible_to


def _row(version):
    return {
        "name": version.name,
        "version": version.version,
        "arn": version.arn,
        "public": version.public,
        "description": version.description,
        "size": human_size(version.unzipped_size),
        "zip_size": human_size(version.code_size),
        "files": version.file_count,
        "created": version.created,
    }


def layer_groups(user):
    """[(heading, [layer rows, newest version first])] of what `user` can attach."""
    mine, public = {}, {}
    for version in visible_to(user if user and user.is_authenticated else None).order_by("name", "-version"):
        (public if version.public else mine).setdefault(version.name, []).append(_row(version))
    return [
        (heading, layers) for heading, layers in (("Your layers", mine), ("Public layers", public)) if layers
    ]


def layers_panel(function, message=None, error=None, opened=False):
    """The Layers panel's context: the attached layers in order, what else can be attached."""
    by_arn = {v.arn: v for v in visible_to(function.owner)}
    attached = []
    for arn in function.layers or []:
        version = by_arn.get(arn)
        name, number = parse_version_arn(arn) or (arn, "?")
        attached.append(
            _row(version) if version else {"name": name, "version": number, "arn": arn, "size": "?"}
        )
    names = {row["name"] for row in attached}
    available = [
        (heading, [row for rows in layers.values() for row in rows if row["name"] not in names])
        for heading, layers in layer_groups(function.owner)
    ]
    return {
        "attached": attached,
        "available": [(heading, rows) for heading, rows in available if rows],
        "limit": settings.LAYERS["PER_FUNCTION"],
        "message": message,
        "error": error,
        "open": opened or bool(message or error),
    }
