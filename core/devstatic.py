"""Development only: static files compressed on the fly.

In production `collectstatic` writes a gzip and a brotli copy of every static file and whitenoise serves
those. `make run` serves static files from the finders without collecting them, so without this plotly.js
would travel uncompressed (4.8 MB). Compressed bodies are kept in memory per file and modification time.
"""

from __future__ import annotations

import gzip

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

try:
    import brotli
except ImportError:  # pragma: no cover - Brotli is pinned; gzip still works without it
    brotli = None

COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
MIN_BYTES = 1024


class CompressStaticMiddleware:
    """Brotli (or gzip) for uncompressed 200 responses under STATIC_URL; put it right after WhiteNoise's outer."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.prefix = "/" + settings.STATIC_URL.lstrip("/")
        self._cache: dict[tuple[str, str, str, int], bytes] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.method != "GET"
            or not request.path.startswith(self.prefix)
            or response.status_code != 200
            or response.has_header("Content-Encoding")
            or not response.get("Content-Type", "").startswith(COMPRESSIBLE)
        ):
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        accepted = request.META.get("HTTP_ACCEPT_ENCODING", "")
        coding = "br" if brotli is not None and "br" in accepted else "gzip" if "gzip" in accepted else None
        if coding is None:
            return response
        # Read whole; the file is closed with the response object (close() would also signal the request's end).
        body = b"".join(response.streaming_content) if response.streaming else response.content
        if len(body) < MIN_BYTES:
            compressed, coding = body, None
        else:
            key = (request.path, response.get("Last-Modified", ""), coding, len(body))
            compressed = self._cache.get(key)
            if compressed is None:
                compressed = brotli.compress(body, quality=5) if coding == "br" else gzip.compress(body, 6)
                self._cache[key] = compressed
        out = HttpResponse(compressed, content_type=response["Content-Type"])
        for header in ("Cache-Control", "Last-Modified", "ETag", "Vary", "Access-Control-Allow-Origin"):
            if response.has_header(header):
                out[header] = response[header]
        if coding:
            out["Content-Encoding"] = coding
        return out
