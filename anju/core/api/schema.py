"""The API's docs page (Swagger UI) served from vendored files under the site's CSP.

drf-spectacular's template initialises Swagger UI with an inline script, which the Content
Security Policy (`script-src 'self' 'nonce-…'`) blocks. This view renders our own template,
which gives every script the request's nonce; the bundles come from the sidecar package
through `/static/`, so no CDN is contacted."""

from drf_spectacular.views import SpectacularSwaggerView


class AnjuSwaggerView(SpectacularSwaggerView):
    template_name = "core/api_docs.html"
