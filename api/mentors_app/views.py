"""The mentors' app at /app: an offline-first web app that Reachable serves itself (issue 18).

Everything under /app is public static code and holds no data: the shell page, the web app manifest, the
service worker and the app's own JavaScript modules and stylesheet. The data comes from the API, with the
mentor's bearer token, and is kept on the phone in IndexedDB (static/js/store.js). No Node at run time: the
JavaScript is written as plain ES modules with JSDoc types, type-checked against the generated API types by
`make test` (clients/typescript/tsconfig.app.json), and served as it is.

The policy lets the page load and run only this server's own files: no inline script or style, no other origin,
no form posts, no framing. The service worker's script is served from /app/sw.js with `Service-Worker-Allowed:
/app`, so it may control the shell at /app itself as well as everything under /app/ (a worker's scope is at most
its script's folder, /app/, otherwise, which would leave the bare /app it is opened at out of its reach).

The shell's version is a hash of every file of the shell, written into the service worker's script as it is
served: any change to a file changes the script, so the browser's own update check installs a new worker, which
caches the new files under a new name and drops the old cache (static/sw.js).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app, make_response, render_template, request, url_for

APP_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "manifest-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SCOPE = "/app"
VERSION_PLACEHOLDER = '"SHELL_VERSION"'
STATIC = Path(__file__).parent / "static"
ICON_SIZES = (192, 512)
THEME_COLOUR = "#0b4f5c"

blp = Blueprint(
    "mentors_app",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
    url_prefix=SCOPE,
)


@blp.after_request
def _app_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = APP_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    # Code, not data: revalidated on every load (ETag), and kept offline by the service worker, not the HTTP cache.
    response.headers["Cache-Control"] = "no-cache"
    return response


@cache
def shell_version(static_folder: Path = STATIC) -> str:
    """A hash of every file the shell is made of: it changes whenever any of them does."""
    digest = hashlib.sha256()
    for path in sorted(p for p in static_folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(static_folder).as_posix().encode())
        digest.update(path.read_bytes())
    for template in sorted((Path(__file__).parent / "templates").rglob("*.html")):
        digest.update(template.read_bytes())
    return digest.hexdigest()[:16]


@cache
def runtime_modules() -> list[str]:
    """The app's modules, preloaded by the shell so that a slow connection fetches them at once, not one import
    level per round trip (types.js holds types only: nothing imports it at run time)."""
    return sorted(f"js/{path.name}" for path in (STATIC / "js").glob("*.js") if path.name != "types.js")


@blp.get("")
def shell() -> Response:
    return make_response(render_template("mentors_app/shell.html", modules=runtime_modules()))


@blp.get("/manifest.webmanifest")
def manifest() -> Response:
    document = {
        "name": f"{current_app.config['API_TITLE']} for mentors",
        "short_name": "Reachable",
        "description": "Your caseload and sessions, online or offline.",
        "id": SCOPE,
        "start_url": SCOPE,
        "scope": SCOPE,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOUR,
        "icons": [
            {
                "src": url_for("mentors_app.static", filename=f"icons/icon-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any maskable",
            }
            for size in ICON_SIZES
        ],
    }
    return Response(json.dumps(document, indent=2), mimetype="application/manifest+json")


@blp.get("/sw.js")
def service_worker() -> Response:
    script = (STATIC / "sw.js").read_text(encoding="utf-8")
    if VERSION_PLACEHOLDER not in script:
        raise RuntimeError("static/sw.js has lost its SHELL_VERSION placeholder")
    script = script.replace(VERSION_PLACEHOLDER, f'"{shell_version()}"', 1)
    response = Response(script, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = SCOPE
    response.add_etag()
    response.make_conditional(request)
    return response
