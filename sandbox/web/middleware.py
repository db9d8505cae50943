from asgiref.sync import iscoroutinefunction
from django.utils.decorators import sync_and_async_middleware


def _strip_length(response):
    if response.status_code in (204, 304) and response.has_header("Content-Length"):
        del response["Content-Length"]
    return response


@sync_and_async_middleware
def no_body_headers(get_response):
    """A 204 or 304 carries no body, so no Content-Length either (RFC 9110 §8.6); Django's
    CommonMiddleware adds one to every response, so this sits before it and takes it away.
    Async-capable: a sync-only middleware would hold the one sync thread while an async view
    waits for the embedded worker, whose database calls need that thread."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            return _strip_length(await get_response(request))

    else:

        def middleware(request):
            return _strip_length(get_response(request))

    return middleware
