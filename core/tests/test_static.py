"""Static files: the vendored partial plotly.js, compressed in development, pages gzipped, charts as JSON."""

from __future__ import annotations

import gzip
import json
import re

import brotli
import plotly.graph_objects as go
import pytest
from django.contrib.staticfiles import finders
from django.http import FileResponse, HttpResponse
from django.test import RequestFactory

from core.devstatic import CompressStaticMiddleware
from segmentation.ml.charts.base import render_div


def test_plotly_js_is_the_vendored_partial_bundle_not_the_python_packages_full_one():
    assert finders.find("vendor/plotly/plotly-segmenta.min.js")
    assert finders.find("vendor/plotly/plotly-segmenta-gl.min.js")
    assert finders.find("plotly/plotly.min.js") is None  # the 4.8 MB bundle of the plotly package is not served


def _static_response(request, body: bytes = b"var x = 1;\n" * 2000, content_type: str = "text/javascript"):
    def get_response(_request):
        response = FileResponse(iter([body]), content_type=content_type)
        response["Last-Modified"] = "Mon, 30 Nov 2026 00:00:00 GMT"
        return response

    return CompressStaticMiddleware(get_response)(request)


@pytest.mark.parametrize(
    ("accept", "coding", "decode"),
    [("gzip, deflate, br", "br", brotli.decompress), ("gzip", "gzip", gzip.decompress), ("", None, bytes)],
)
def test_development_static_files_are_compressed_for_browsers_that_accept_it(accept, coding, decode):
    body = b"var x = 1;\n" * 2000
    request = RequestFactory().get("/static/js/charts.js", HTTP_ACCEPT_ENCODING=accept)
    response = _static_response(request, body)
    assert response.get("Content-Encoding") == coding
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert decode(content) == body
    assert "Accept-Encoding" in response["Vary"]
    if coding:
        assert len(content) < len(body) / 10


def test_development_compression_leaves_pages_and_small_files_alone():
    request = RequestFactory().get("/runs/1/", HTTP_ACCEPT_ENCODING="br")
    page = CompressStaticMiddleware(lambda _r: HttpResponse("<p>page</p>" * 500))(request)
    assert not page.has_header("Content-Encoding")
    small = _static_response(RequestFactory().get("/static/x.js", HTTP_ACCEPT_ENCODING="br"), b"var x;")
    assert not small.has_header("Content-Encoding") and small.content == b"var x;"


@pytest.mark.django_db
def test_pages_are_gzipped_for_browsers_that_accept_it(viewer_client):
    response = viewer_client.get("/", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    assert b"Segmenta" in gzip.decompress(response.content)


def test_a_chart_is_an_empty_div_and_its_figure_as_json_that_cannot_close_the_script():
    fig = go.Figure(go.Bar(x=["</script><script>alert(1)</script>"], y=[1], name="a & b"))
    fig.update_layout(height=333, title="Sizes")
    html = render_div(fig, div_id="chart-sizes")
    assert html.startswith('<div id="chart-sizes" class="chart" data-chart="chart-sizes-figure"')
    assert "height:333px" in html
    script = r'<script type="application/json" id="chart-sizes-figure">(.*)</script>'
    match = re.fullmatch(r"<div [^>]*></div>" + script, html)
    assert match is not None
    payload = match.group(1)
    assert "<" not in payload and ">" not in payload and "&" not in payload
    figure = json.loads(payload)
    assert figure["data"][0]["x"] == ["</script><script>alert(1)</script>"]
    assert figure["layout"]["title"]["text"] == "Sizes"


def test_favicon_is_an_empty_answer_for_anyone(client):
    """Browsers and the API's browsable pages ask for /favicon.ico: no 404 (and no console error) on each visit."""
    response = client.get("/favicon.ico")
    assert response.status_code == 204 and response.content == b""
    assert "max-age=86400" in response["Cache-Control"]
    assert client.post("/favicon.ico").status_code == 405
