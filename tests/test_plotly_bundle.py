"""The partial plotly.js bundles (static/vendor/plotly, built by scripts/plotly) draw every figure the app makes.

Pure checks, no browser: the bundles are the plotly.js version the installed Python plotly embeds, match the
manifest the build wrote beside them, register exactly the trace types it lists (read from the bundles' own
module definitions), and every trace type a figure of the app can emit is in one of them: every trace class
constructed anywhere in the app's code, and every trace of the figures on the pages that draw charts.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path

import plotly.graph_objects as go
import plotly.offline
import pytest
from django.contrib.staticfiles import finders
from plotly.basedatatypes import BaseTraceType

from customers.tests.factories import customer_groups_create
from segmentation.tests.factories import SegmentationFactory, SegmentRunFactory

REPO = Path(__file__).resolve().parent.parent
VENDOR = REPO / "static" / "vendor" / "plotly"
MAIN, GL = "plotly-segmenta.min.js", "plotly-segmenta-gl.min.js"
APPS = ("core", "customers", "segmentation", "campaigns", "config")
FIGURE_JSON = re.compile(r'<script type="application/json" id="[^"]+-figure">(.*?)</script>', re.S)


def manifest() -> dict:
    return json.loads((VENDOR / "plotly-segmenta.json").read_text())


def registered(name: str) -> set[str]:
    """Trace modules defined in a bundle (each plotly.js trace module says `moduleType: "trace", name: ...`)."""
    return set(re.findall(r'moduleType:"trace",name:"(\w+)"', (VENDOR / name).read_text()))


def bundle_traces() -> set[str]:
    return registered(MAIN) | registered(GL)


def test_bundles_are_the_plotly_js_of_the_installed_plotly_and_match_their_manifest():
    info = manifest()
    assert info["plotly_js_version"] == plotly.offline.get_plotlyjs_version(), (
        "the Python plotly package embeds another plotly.js: pin it in scripts/plotly/package.json and `make plotly`"
    )
    assert set(info["files"]) == {MAIN, GL}
    for name, entry in info["files"].items():
        body = (VENDOR / name).read_bytes()
        assert len(body) == entry["bytes"] and hashlib.sha256(body).hexdigest() == entry["sha256"], name
        assert body.startswith(f"/**\n* plotly.js v{info['plotly_js_version']} (Segmenta partial bundle".encode())
        assert b"Licensed under the MIT license" in body[:400]
        assert registered(name) == set(entry["traces"]), name
    assert registered(MAIN).isdisjoint(registered(GL))
    source = json.loads((REPO / "scripts" / "plotly" / "traces.json").read_text())
    assert source["main"] == info["files"][MAIN]["traces"] and source["gl"] == info["files"][GL]["traces"]


def test_charts_js_loads_the_gl_bundle_for_exactly_its_traces():
    charts_js = (REPO / "static" / "js" / "charts.js").read_text()
    listed = json.loads(re.search(r"var GL_TRACES = (\[[^\]]*\]);", charts_js).group(1))
    assert set(listed) == registered(GL)
    assert finders.find(f"vendor/plotly/{MAIN}") and finders.find(f"vendor/plotly/{GL}")
    template = (REPO / "templates" / "_charts_js.html").read_text()
    assert f"vendor/plotly/{MAIN}" in template and f"data-plotly-gl=\"{{% static 'vendor/plotly/{GL}' %}}\"" in template


def _trace_classes_in(path: Path) -> set[str]:
    """Names of plotly.graph_objects trace classes called in a module (`go.Scatter(...)`, `Scatter(...)`)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    modules, direct = set(), set()  # names bound to plotly.graph_objects, and names imported from it
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == "plotly.graph_objects" and a.asname}
        elif isinstance(node, ast.ImportFrom) and node.module == "plotly":
            modules |= {a.asname or a.name for a in node.names if a.name == "graph_objects"}
        elif isinstance(node, ast.ImportFrom) and node.module == "plotly.graph_objects":
            direct |= {a.asname or a.name for a in node.names}
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in modules:
            name = func.attr
        elif isinstance(func, ast.Name) and func.id in direct:
            name = func.id
        else:
            continue
        cls = getattr(go, name, None)
        if isinstance(cls, type) and issubclass(cls, BaseTraceType):
            names.add(name)
    return names


def test_every_trace_type_the_app_constructs_is_in_a_bundle():
    found: dict[str, set[str]] = {}
    for app in APPS:
        for path in (REPO / app).rglob("*.py"):
            if "tests" in path.relative_to(REPO).parts:
                continue
            text = path.read_text()
            assert "plotly.express" not in text, f"{path}: plotly.express figures are not checked here"
            for name in _trace_classes_in(path):
                found.setdefault(getattr(go, name)().type, set()).add(str(path.relative_to(REPO)))
    assert {"scatter", "bar", "heatmap"} <= set(found)  # the scan sees the app's charts
    missing = {t: sorted(paths) for t, paths in found.items() if t not in bundle_traces()}
    assert not missing, f"trace types not in static/vendor/plotly (add them to scripts/plotly/traces.json): {missing}"


def _page_traces(client, url: str) -> set[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    figures = [json.loads(p) for p in FIGURE_JSON.findall(response.content.decode())]
    assert figures, f"{url}: no charts"
    return {trace.get("type", "scatter") for figure in figures for trace in figure["data"]}


@pytest.mark.django_db
def test_every_trace_on_the_pages_with_charts_is_in_a_bundle(admin_client):
    groups = customer_groups_create({0: 30, 1: 20, 2: 15})
    assert groups
    seg = SegmentationFactory(name="bundle", features=["age", "annual_income", "spending_score"])
    first = SegmentRunFactory(segmentation=seg)
    second = SegmentRunFactory(segmentation=seg)
    seen = set()
    for url in (
        f"/runs/{second.pk}/",
        "/customers/overview/",
        f"/runs/compare/?a={first.pk}&b={second.pk}",
    ):
        seen |= _page_traces(admin_client, url)
    assert {"scatter3d", "splom", "heatmap", "bar", "box", "scatterpolar"} <= seen  # the pages drew their charts
    assert seen <= bundle_traces(), seen - bundle_traces()
