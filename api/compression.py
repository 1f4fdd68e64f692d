"""JSON answers are gzipped when the client accepts it.

A phone's first sync is a few pages of up to 190 KB of JSON each, which gzip makes about 12 KB, and phones
sync on poor connections. Only JSON is compressed: the HTML pages carry form tokens beside text a visitor can
choose, the shape BREACH attacks need, while the API's callers send bearer tokens that another site cannot make
a browser attach.

Done here (an after-request hook and the standard library's gzip) rather than with flask-compress: that
library rewrites a strong ETag "3" as "3:gzip", and our ETags are record versions that clients send back in
If-Match, so every edit after a compressed read would be refused as stale; it also brings brotli and zstd
builds. A compressed answer's ETag is made weak instead (W/"3": the same version, another encoding), which
If-Match still accepts (api/web.py expected_version), and every JSON answer says Vary: Accept-Encoding.
"""

from __future__ import annotations

import gzip

from flask import Flask, Response, request

# Smaller answers gain little or nothing once gzip's header and trailer are paid for.
MIN_SIZE = 500
LEVEL = 6


def init_compression(app: Flask) -> None:
    app.after_request(compress_json)


def compress_json(response: Response) -> Response:
    if response.mimetype != "application/json":
        return response
    response.vary.add("Accept-Encoding")
    if (
        not 200 <= response.status_code < 300
        or response.direct_passthrough
        or response.is_streamed
        or "Content-Encoding" in response.headers
        or request.accept_encodings.quality("gzip") <= 0
    ):
        return response
    data = response.get_data()
    if len(data) < MIN_SIZE:
        return response
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)
    # mtime=0: the same answer compresses to the same bytes.
    response.set_data(gzip.compress(data, compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    return response
