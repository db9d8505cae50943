"""The layers part of the JSON API (mounted at /api/layers by sandbox/web/api.py): publish a layer
version with the zip itself as the body, and list your layers and the public ones.

A refused zip is a 400 whose `reason` names the problem (NotAZip, PathTraversal, AbsolutePath,
Symlink, SpecialFile, UnzippedTooLarge, TooManyFiles, ...) and nothing is kept; a body over the
zipped limit is a 413 before it is read, as for every other body of this API.
"""

from asgiref.sync import sync_to_async
from django.conf import settings
from ninja import Router, Status

from sandbox.layers.archive import LayerZipError, mib
from sandbox.layers.attach import visible_to
from sandbox.layers.publish import StorageExceeded, TooManyUploads, apublish
from sandbox.web.api_access import ApiAccess, ApiError
from sandbox.web.api_schemas import LayerList, LayerVersionOut, errors
from sandbox.web.fields import ConfigError

ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream")
ZIP_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    }
}

router = Router(tags=["layers"])


def version_json(version):
    return {
        "name": version.name,
        "version": version.version,
        "arn": version.arn,
        "layer_arn": version.layer_arn,
        "public": version.public,
        "description": version.description,
        "code_sha256": version.sha256,
        "code_size": version.code_size,
        "unzipped_size": version.unzipped_size,
        "file_count": version.file_count,
        "created": version.created.isoformat(),
    }


def layers_json(user):
    """The layers `user` can attach, each with its versions: theirs first, then the public ones."""
    groups = {}
    for version in visible_to(user).order_by("name", "version"):
        groups.setdefault((version.public, version.name), []).append(version_json(version))
    layers = [
        {
            "name": name,
            "layer_arn": versions[-1]["layer_arn"],
            "public": public,
            "latest": versions[-1],
            "versions": versions,
        }
        for (public, name), versions in sorted(groups.items())
    ]
    return {"layers": layers}


def read_zip_body(request):
    """The body, read up to the limit (a chunked body declares no length): 413 past it."""
    limit = settings.LAYERS["ZIP_BYTES"]
    data = request.read(limit + 1)
    if len(data) > limit:
        raise ApiError(
            413,
            "RequestEntityTooLargeException",
            f"The zip is over {mib(limit)} ({limit} bytes), Lambda's limit for a direct upload.",
        )
    return data


@router.get(
    "",
    response={200: LayerList, **errors(401)},
    summary="Your layers and the public ones, with their versions",
    url_name="layers",
)
async def list_layers(request):
    return await sync_to_async(layers_json)(request.auth)


@router.post(
    "",
    response={201: LayerVersionOut, **errors(400, 401, 403, 413, 415, 429)},
    auth=ApiAccess(body_limit=settings.LAYERS["ZIP_BYTES"]),
    summary="Publish a layer version: the zip is the body (Content-Type: application/zip)",
    openapi_extra=ZIP_BODY,
)
async def publish_layer(request, name: str, description: str = ""):
    if request.content_type not in ZIP_TYPES:
        raise ApiError(
            415,
            "UnsupportedMediaType",
            "Send the zip itself as the body, with 'Content-Type: application/zip'.",
        )
    data = await sync_to_async(read_zip_body)(request)
    try:
        version = await apublish(request.auth, name, data, description)
    except ConfigError as exc:
        raise ApiError(400, "InvalidRequest", f"{exc.field}: {exc}") from None
    except LayerZipError as exc:
        raise ApiError(400, "InvalidRequest", str(exc), reason=exc.reason) from None
    except StorageExceeded as exc:
        raise ApiError(400, "CodeStorageExceededException", str(exc)) from None
    except TooManyUploads as exc:
        raise ApiError(429, "TooManyRequestsException", str(exc), reason="LayerUploadRateExceeded") from None
    return Status(201, version_json(version))
