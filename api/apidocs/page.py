"""The interactive API docs, /docs (Swagger UI) and /redoc (ReDoc), served whole by this server.

Issue 14, part 5. Both pages used to load their tool from a public CDN, unpinned and without integrity hashes:
they were blank on the council networks that block that CDN, and their Content-Security-Policy trusted all of
it on the very page where people paste access tokens. Now:

- Both tools are unedited copies of pinned npm releases inside this package (static/vendor/, pinned by hash in
  vendored.py), so the pages work on a closed network, and neither `make run` nor a deployment needs Node or
  any host but this one. The browser checks each file against its pinned hash (Subresource Integrity).
- Neither page has an inline script. Swagger UI is started by a file of ours, static/swagger-ui-init.js, which
  reads the OpenAPI document's address from the page; ReDoc starts itself from its <redoc spec-url> element.
- Each page's policy names no origin but this server ('self'): scripts, stylesheets, images ('self' and data:
  for icons) and connections (the OpenAPI document, and Swagger UI's "Try it out"). Neither tool needs
  'unsafe-eval'. ReDoc needs two allowances more, neither of them another origin: inline styles, because
  styled-components writes <style> elements as it draws (it reads a nonce only from the bundle's own webpack
  runtime, which a page cannot set), and blob: workers, because its search index runs in a worker made from a
  blob (only script already running on the page can make one).
- Nothing reaches for another host: Swagger UI's validator badge is off (it would send the document to
  validator.swagger.io). ReDoc's sidebar credit always asks for the Redocly logo from cdn.redoc.ly; the policy
  refuses it in the browser, and ReDoc then leaves the image out (the credit's text stays).
- A token pasted into Swagger UI's "Authorize" stays in that tab's memory (persistAuthorization is off).
- The vendored files are cached for a year and marked immutable, which is safe because their version is in
  their URL; the pages and our own small files are revalidated on every load (ETag).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, current_app, make_response, render_template, request, url_for

from api.apidocs.vendored import REDOC, SWAGGER_UI, VendoredPackage

ONE_YEAR = 365 * 24 * 60 * 60

_NOTHING_ELSE = "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SWAGGER_UI_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    + _NOTHING_ELSE
)
REDOC_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; worker-src blob:; " + _NOTHING_ELSE
)
POLICIES = {"apidocs.swagger_ui": SWAGGER_UI_POLICY, "apidocs.redoc": REDOC_POLICY}


class _DocsBlueprint(Blueprint):
    def get_send_file_max_age(self, filename: str | None) -> int | None:
        if filename and filename.startswith("vendor/"):
            return ONE_YEAR
        return super().get_send_file_max_age(filename)


blp = _DocsBlueprint(
    "apidocs", __name__, template_folder="templates", static_folder="static", static_url_path="/docs/static"
)


@dataclass(frozen=True)
class Asset:
    url: str
    integrity: str


def _vendored(package: VendoredPackage, file_name: str) -> Asset:
    return Asset(url_for("apidocs.static", filename=package.path(file_name)), package.files[file_name])


@blp.after_request
def _docs_headers(response: Response) -> Response:
    if request.endpoint in POLICIES:
        response.headers["Content-Security-Policy"] = POLICIES[request.endpoint]
        response.headers["Cache-Control"] = "no-cache"
    elif response.cache_control.max_age == ONE_YEAR:
        response.cache_control.immutable = True
    return response


def _render(template: str, **assets: Asset) -> Response:
    return make_response(
        render_template(
            template,
            title=current_app.config["API_TITLE"],
            spec_url=url_for("api-docs.openapi_json"),
            **assets,
        )
    )


@blp.get("/docs")
def swagger_ui() -> Response:
    return _render(
        "apidocs/swagger_ui.html",
        script=_vendored(SWAGGER_UI, "swagger-ui-bundle.js"),
        stylesheet=_vendored(SWAGGER_UI, "swagger-ui.css"),
    )


@blp.get("/redoc")
def redoc() -> Response:
    return _render("apidocs/redoc.html", script=_vendored(REDOC, "redoc.standalone.js"))
