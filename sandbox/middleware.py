def no_body_headers(get_response):
    """A 204 or 304 carries no body, so no Content-Length either (RFC 9110 §8.6); Django's
    CommonMiddleware adds one to every response, so this sits before it and takes it away."""

    def middleware(request):
        response = get_response(request)
        if response.status_code in (204, 304) and response.has_header("Content-Length"):
            del response["Content-Length"]
        return response

    return middleware
