"""The address every link and QR code shows: where students' devices reach this server.

PUBLIC_URL when set; otherwise, when the server serves a classroom (BIND=0.0.0.0) and the page
was opened on loopback (the teacher's own browser on 127.0.0.1), the machine's reachable
address with the port the browser used; otherwise the address the browser used.
"""

from django.conf import settings
from django.http.request import split_domain_port
from django.urls import reverse

from config.network import is_loopback, url_host

DEFAULT_PORTS = {"http": "80", "https": "443"}


def public_base_url(request):
    """scheme://host[:port], no trailing slash."""
    if settings.PUBLIC_URL:
        return settings.PUBLIC_URL
    host = request.get_host()
    if settings.ROOM_ADDRESS and is_loopback(host):
        _, port = split_domain_port(host)
        port = port or str(request.get_port())
        suffix = "" if DEFAULT_PORTS.get(request.scheme) == port else f":{port}"
        return f"{request.scheme}://{url_host(settings.ROOM_ADDRESS)}{suffix}"
    return f"{request.scheme}://{host}"


def public_url(request, path):
    """An absolute URL for `path` (starting with /) at the public address."""
    return public_base_url(request) + path


def function_url(request, slug):
    """A function's public URL as pages show it: on FUNCTION_URL_BASE (a separate origin, see
    docs/security.md) when set, else at the public address."""
    path = reverse("function_url", args=[slug])
    return (settings.FUNCTION_URL_BASE or public_base_url(request)) + path


def secure_context(request):
    """Whether browsers treat the page as a secure context: HTTPS or loopback. Only then can
    the page be cross-origin isolated and share a SharedArrayBuffer with a Web Worker."""
    return request.is_secure() or is_loopback(request.get_host())
