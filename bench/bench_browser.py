"""Pages in a real browser over BENCH_ROWS customers: first visits with a cold cache, bytes, every page's server time.

Run: DATABASE_URL=postgres://... BENCH_ROWS=2000 python bench/bench_browser.py (an already-migrated PostgreSQL
database; `make bench` makes one). Needs Chromium (SEGMENTA_CHROMIUM, default /usr/bin/chromium) and Playwright.

Set-up, not timed: BENCH_ROWS synthetic customers and one active run with five segments (bench_segment_pages'
loader, ids BSP-...), a campaign on its biggest segment, an import record; `collectstatic` with the manifest
storage into a temporary folder; the app served by `manage.py runserver --noreload` with DEBUG off, so whitenoise
serves every static file as brotli/gzip under a hashed name cached for a year, as in production.

Measured against that server in the same run:

* first visit of the run page and of the data overview, each in a fresh browser context (empty HTTP cache,
  logged in as an Admin), BENCH_BROWSER_REPEAT times (the first also meets the server's empty chart cache):
  time from navigation start until the charts in the first screen are drawn and until every chart of the page
  is drawn (static/js/charts.js stamps `data-drawn-at`), DOMContentLoaded, and the bytes transferred (document
  plus every resource, compressed, headers included); a repeat visit's bytes (warm browser cache);
* baseline: the same page's bare HTML fetch (server time, no browser) and `/healthz`;
* server time p50 / p95 of BENCH_PAGE_REPEAT (20) requests for every other page a user reaches.

* the cost of plotly.js itself, without the app: parse + compile + evaluation of the full bundle the Python plotly
  package ships (4.8 MB) and of the app's partial bundles (static/vendor/plotly: the main one, then the WebGL
  add-on), each in a fresh page, served from memory, measured alternately BENCH_BUNDLE_REPEAT (5) times: the time
  from the script's last byte to its `load` event, and Chromium's own script time (CDP Performance.getMetrics
  ScriptDuration). A machine busy with other work slows both alike, so their ratio is the fair comparison.

Goals (issue 11), reported as numbers and never asserted: run page and overview charts visible in ≤ 2 s at
2,000 customers and ≤ 3 s at 1,000,000; ≤ 1.5 MB transferred on a first visit; every other page ≤ 150 ms.
The machine's load average is printed with the numbers: browser times grow with a busy CPU (plotly.js is
megabytes of JavaScript to compile). `--bundles` measures only the bundles (no database, no server). The last
line is `BENCH_RESULT {json}`. The bench's rows are removed at the start and at the end.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "0")

import bench_segment_pages as loader  # noqa: E402  (sets Django up)
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402

from campaigns.models import Campaign  # noqa: E402
from campaigns.services import campaign_create  # noqa: E402
from customers.models import Customer, ImportJob, ImportStatus  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
ROWS = loader.ROWS
BROWSER_REPEAT = int(os.environ.get("BENCH_BROWSER_REPEAT", "3"))
BUNDLE_REPEAT = int(os.environ.get("BENCH_BUNDLE_REPEAT", "5"))
PAGE_REPEAT = int(os.environ.get("BENCH_PAGE_REPEAT", "20"))
CHROMIUM = os.environ.get("SEGMENTA_CHROMIUM", "/usr/bin/chromium")
USERNAME = "bench-browser-admin"
PASSWORD = "bench-browser-password-1"  # noqa: S105 - a throwaway user of the bench database
CAMPAIGN = "bench-browser campaign"
IMPORT_FILE = "bench-browser.csv"
VIEWPORT = {"width": 1440, "height": 900}
GOAL_CHARTS_S = 2.0 if ROWS <= 100_000 else 3.0
GOAL_BYTES = 1.5e6
GOAL_SERVER_MS = 150.0

# Run in the page once every chart of the first screen is drawn: what the visit cost.
VISIT_JS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  const charts = [...document.querySelectorAll("[data-chart]")];
  const inView = charts.filter((el) => {
    const r = el.getBoundingClientRect();
    return r.top < innerHeight && r.bottom > 0;
  });
  const at = (els) => els.length ? Math.max(...els.map((el) => +el.dataset.drawnAt || 0)) : null;
  return {
    charts: charts.length,
    charts_in_view: inView.length,
    in_view_drawn_ms: at(inView),
    first_drawn_ms: charts.length ? Math.min(...charts.map((el) => +el.dataset.drawnAt || 1e9)) : null,
    dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd),
    bytes: nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
    html_bytes: nav.encodedBodySize,
    resources: resources.map((r) => [r.name.split("/").pop(), r.transferSize, r.decodedBodySize]),
  };
}"""
IN_VIEW_DRAWN = """() => [...document.querySelectorAll("[data-chart]")]
  .filter((el) => { const r = el.getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0; })
  .every((el) => el.dataset.drawn)"""
ALL_DRAWN = """() => [...document.querySelectorAll("[data-chart]")].every((el) => el.dataset.drawn)"""


# Load one script into the page; resolves once it has run: ms from its last byte to its load event.
LOAD_SCRIPT_JS = """(url) => new Promise((resolve, reject) => {
  const tag = document.createElement("script");
  tag.src = url;
  tag.onload = () => {
    const done = performance.now();
    resolve(done - performance.getEntriesByName(url)[0].responseEnd);
  };
  tag.onerror = () => reject(new Error("could not load " + url));
  document.head.appendChild(tag);
})"""
BUNDLE_HOST = "http://bundles.bench.invalid"


def bundle_files() -> dict[str, Path]:
    import plotly

    vendor = REPO / "static" / "vendor" / "plotly"
    return {
        "full": Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js",
        "partial": vendor / "plotly-segmenta.min.js",
        "partial_gl": vendor / "plotly-segmenta-gl.min.js",
    }


def bundle_costs(browser) -> dict[str, dict]:
    """Parse + compile + evaluation of the full plotly.js and of the partial bundles, alternately, fresh pages."""
    files = {name: path.read_bytes() for name, path in bundle_files().items()}

    def serve(route, request) -> None:
        name = request.url.rsplit("/", 1)[-1].removesuffix(".js")
        if name in files:
            route.fulfill(status=200, body=files[name], content_type="text/javascript")
        else:
            route.fulfill(status=200, body="<!doctype html><title>bundles</title>", content_type="text/html")

    def script_ms(cdp) -> float:
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return metrics["ScriptDuration"] * 1000

    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in files}
    for _ in range(BUNDLE_REPEAT):
        for visit in (["full"], ["partial", "partial_gl"]):
            context = browser.new_context()
            page = context.new_page()
            page.route(f"{BUNDLE_HOST}/**", serve)
            page.goto(f"{BUNDLE_HOST}/")
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable")
            for name in visit:
                before = script_ms(cdp)
                wall = page.evaluate(LOAD_SCRIPT_JS, f"{BUNDLE_HOST}/{name}.js")
                samples[name].append((wall, script_ms(cdp) - before))
            assert page.evaluate("typeof window.Plotly.newPlot") == "function"
            context.close()
    out = {}
    for name, values in samples.items():
        out[name] = {
            "bytes": len(files[name]),
            "load_ms": round(statistics.median(v[0] for v in values), 1),
            "script_ms": round(statistics.median(v[1] for v in values), 1),
            "load_ms_all": [round(v[0]) for v in values],
        }
    return out


def print_bundle_costs(costs: dict[str, dict]) -> None:
    print(f"  plotly.js alone: parse + compile + run, median of {BUNDLE_REPEAT} alternate fresh pages:")
    for name, c in costs.items():
        print(
            f"    {name:<11} {c['bytes'] / 1e6:5.2f} MB  load {c['load_ms']:7.1f} ms  "
            f"(Chromium script time {c['script_ms']:7.1f} ms)  each: {c['load_ms_all']}"
        )
    full, main = costs["full"]["load_ms"], costs["partial"]["load_ms"]
    both = main + costs["partial_gl"]["load_ms"]
    print(f"    partial is {main / full:.0%} of full's time; with the WebGL add-on {both / full:.0%}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cleanup() -> None:
    Campaign.objects.filter(name=CAMPAIGN).delete()
    ImportJob.objects.filter(file_name=IMPORT_FILE).delete()
    get_user_model().objects.filter(username=USERNAME).delete()
    loader.cleanup()


def prepare() -> dict[str, str]:
    """Rows, run, campaign and user; returns the pages to visit (name -> path)."""
    frame = loader.synthetic(ROWS)
    run, load_s = loader.load(frame)
    del frame
    print(f"  set-up (COPY customers + memberships, not timed) {load_s:.1f} s")
    user = get_user_model().objects.create_user(USERNAME, password=PASSWORD)
    user.groups.add(Group.objects.get(name="Admin"))
    biggest = run.segments.order_by("-size").first()
    campaign = campaign_create(actor=user, name=CAMPAIGN, segments=[biggest])
    job = ImportJob.objects.create(
        created_by=user, file_name=IMPORT_FILE, status=ImportStatus.SUCCEEDED, rows_total=ROWS, rows_added=ROWS
    )
    customer = Customer.objects.filter(external_id__startswith=loader.PREFIX).order_by("external_id").first()
    return {
        "run_page": f"/runs/{run.pk}/",
        "overview": "/customers/overview/",
        "dashboard": "/",
        "customers": "/customers/",
        "customer": f"/customers/id/{customer.external_id}/",
        "imports": "/customers/imports/",
        "import_form": "/customers/import/",
        "import_detail": f"/customers/imports/{job.pk}/",
        "run_history": f"/segmentations/{run.segmentation_id}/runs/",
        "compare": "/runs/compare/",
        "segment": f"/segments/{biggest.pk}/",
        "campaigns": "/campaigns/",
        "campaign": f"/campaigns/{campaign.pk}/",
        "campaign_new": "/campaigns/new/",
        "playbook": "/campaigns/playbook/",
        "activity": "/activity/",
        "api_docs": "/api/docs/",
        "login": "/accounts/login/",
    }


def serve(port: int, static_root: str) -> subprocess.Popen:
    """collectstatic (manifest + compression) and runserver with DEBUG off; returns once /healthz answers."""
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "SEGMENTA_STATIC_MANIFEST": "1",
        "STATIC_ROOT": static_root,
        "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
    }
    started = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=REPO, env=env, check=True)
    print(f"  collectstatic (hashed names, gzip + brotli; not timed) {time.perf_counter() - started:.1f} s")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    sys.exit("bench_browser: the server did not start")


def fetch_ms(url: str, cookie: str | None) -> float:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})  # noqa: S310 - http://127.0.0.1
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
        response.read()
        assert response.status == 200, (url, response.status)
    return (time.perf_counter() - started) * 1000


def server_times(base: str, path: str, cookie: str | None, n: int) -> dict[str, float]:
    first = fetch_ms(base + path, cookie)
    times = sorted(fetch_ms(base + path, cookie) for _ in range(n))
    return {
        "first_ms": round(first, 1),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))], 1),
    }


def first_visit(browser, state: dict, url: str) -> dict:
    """One visit in a fresh context (empty cache): times until the first screen's charts / all charts are drawn."""
    context = browser.new_context(storage_state=state, viewport=VIEWPORT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url, wait_until="commit")
    page.wait_for_load_state("domcontentloaded")
    page.wait_for_function(IN_VIEW_DRAWN, timeout=120_000, polling=50)
    page.wait_for_function(ALL_DRAWN, timeout=120_000, polling=50)
    visit = page.evaluate(VISIT_JS)
    visit["all_drawn_ms"] = page.evaluate(
        "Math.max(0, ...[...document.querySelectorAll('[data-chart]')].map((el) => +el.dataset.drawnAt || 0))"
    )
    page.reload(wait_until="load")  # a repeat visit: plotly.js and the CSS come from the browser's cache
    page.wait_for_function(ALL_DRAWN, timeout=120_000, polling=50)
    visit["repeat_bytes"] = page.evaluate(
        """() => {
          const nav = performance.getEntriesByType("navigation")[0];
          return nav.transferSize + performance.getEntriesByType("resource").reduce((s, r) => s + r.transferSize, 0);
        }"""
    )
    visit["errors"] = errors
    context.close()
    return visit


def browser_pages(base: str, pages: dict[str, str]) -> tuple[dict, str]:
    from playwright.sync_api import sync_playwright

    out: dict[str, dict] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.goto(base + "/accounts/login/")
        page.fill("#id_username", USERNAME)
        page.fill("#id_password", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_load_state("load")
        state = context.storage_state()
        context.close()
        out["bundles"] = bundle_costs(browser)
        for name in ("run_page", "overview"):
            visits = [first_visit(browser, state, base + pages[name]) for _ in range(BROWSER_REPEAT)]
            keys = ("in_view_drawn_ms", "all_drawn_ms", "first_drawn_ms", "dom_content_loaded_ms", "bytes")
            out[name] = {
                "first": {k: visits[0][k] for k in keys},
                **{k: statistics.median(v[k] or 0 for v in visits) for k in keys},
                "repeat_bytes": visits[-1]["repeat_bytes"],
                "html_bytes": visits[-1]["html_bytes"],
                "charts": visits[-1]["charts"],
                "charts_in_view": visits[-1]["charts_in_view"],
                "resources": visits[-1]["resources"],
                "errors": sorted({e for v in visits for e in v["errors"]}),
            }
        browser.close()
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in state["cookies"])
    return out, cookie


def bundles_only() -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        costs = bundle_costs(browser)
        browser.close()
    print(f"bench_browser --bundles: machine load average {[round(x, 1) for x in os.getloadavg()]}")
    print_bundle_costs(costs)
    print("BENCH_RESULT " + json.dumps({"bundles": costs}))


def main() -> None:
    if "--bundles" in sys.argv[1:]:
        bundles_only()
        return
    if connection.vendor != "postgresql":
        sys.exit("bench_browser: DATABASE_URL must point at PostgreSQL")
    if not Path(CHROMIUM).exists():
        sys.exit(f"bench_browser: no Chromium at {CHROMIUM}")
    print(f"bench_browser: {ROWS:,} customers; {BROWSER_REPEAT} cold-cache visits, {PAGE_REPEAT} requests per page")
    cleanup()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = None
    try:
        pages = prepare()
        with tempfile.TemporaryDirectory(prefix="segmenta-static-") as static_root:
            server = serve(port, static_root)
            visits, cookie = browser_pages(base, pages)
            times = {"healthz": server_times(base, "/healthz", None, PAGE_REPEAT)}
            for name, path in pages.items():
                times[name] = server_times(base, path, None if name == "login" else cookie, PAGE_REPEAT)
            server.terminate()
            server.wait(timeout=30)
            server = None
    finally:
        if server is not None:
            server.terminate()
        cleanup()

    health = times["healthz"]["p50_ms"] or 0.1
    load = [round(x, 1) for x in os.getloadavg()]
    print(f"  baseline /healthz p50 {health:.1f} ms; machine load average {load} on {os.cpu_count()} CPUs")
    result: dict = {
        "rows": ROWS,
        "browser_repeat": BROWSER_REPEAT,
        "page_repeat": PAGE_REPEAT,
        "healthz_ms": health,
        "load_average": load,
        "cpus": os.cpu_count(),
    }
    result["bundles"] = visits.pop("bundles")
    print_bundle_costs(result["bundles"])
    for name, v in visits.items():
        html_ms = times[name]["p50_ms"]
        seconds = v["all_drawn_ms"] / 1000
        print(
            f"  {name:<9} first visit, cold cache (median of {BROWSER_REPEAT}): charts in the first screen "
            f"{v['in_view_drawn_ms'] / 1000:.2f} s ({v['charts_in_view']} of {v['charts']}), "
            f"all charts {seconds:.2f} s "
            f"(goal ≤ {GOAL_CHARTS_S:.0f} s: {'met' if seconds <= GOAL_CHARTS_S else 'NOT met'}), "
            f"{v['all_drawn_ms'] / html_ms:.1f}× its bare HTML fetch ({html_ms:.0f} ms); "
            f"very first visit {v['first']['all_drawn_ms'] / 1000:.2f} s"
        )
        print(
            f"  {'':<9} {v['bytes'] / 1e6:.2f} MB transferred (goal ≤ 1.5 MB: "
            f"{'met' if v['bytes'] <= GOAL_BYTES else 'NOT met'}; HTML {v['html_bytes'] / 1e3:.0f} kB compressed), "
            f"repeat visit {v['repeat_bytes'] / 1e3:.0f} kB; {v['errors'] or 'no page errors'}"
        )
        for resource_name, sent, size in v["resources"]:
            print(f"  {'':<11}{resource_name:<40} {sent / 1e3:8.0f} kB sent, {size / 1e3:8.0f} kB unpacked")
        result[name] = {k: val for k, val in v.items() if k not in ("resources",)}
        result[name]["vs_html_fetch"] = round(v["all_drawn_ms"] / html_ms, 1)
    over = []
    print(f"  server time over {PAGE_REPEAT} requests (goal ≤ {GOAL_SERVER_MS:.0f} ms p95), first request in brackets:")
    for name, t in times.items():
        flag = "" if t["p95_ms"] <= GOAL_SERVER_MS or name in visits else "  over the goal"
        if flag:
            over.append(name)
        print(
            f"    {name:<14} p50 {t['p50_ms']:7.1f} ms  p95 {t['p95_ms']:7.1f} ms  ({t['first_ms']:7.1f})  "
            f"{t['p50_ms'] / health:7.1f}× /healthz  {pages.get(name, '/healthz')}{flag}"
        )
    result["server"] = times
    result["server_over_goal"] = over
    print("BENCH_RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
