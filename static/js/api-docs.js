// /api/docs: Swagger UI (vendored from npm) on the API's OpenAPI document. "Try it out" works
// with a Bearer token (Authorize) or, signed in, with the session: writes then need the CSRF token.
/* global SwaggerUIBundle */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("swagger-config").textContent);
  const csrfToken = document.body.dataset.csrfToken;
  config.presets = [SwaggerUIBundle.presets.apis];
  config.requestInterceptor = function (request) {
    if (csrfToken && new URL(request.url, location.href).origin === location.origin) {
      request.headers["X-CSRFToken"] = csrfToken;
    }
    return request;
  };
  SwaggerUIBundle(config);
})();
