from sandbox.web.public_url import public_base_url, secure_context
from sandbox.web.status import isolation_status


def isolation(request):
    return {"isolation": isolation_status()}


def public_address(request):
    """Templates build links students open from `public_base_url` (sandbox/web/public_url.py)."""
    return {"public_base_url": public_base_url(request), "secure_context": secure_context(request)}
