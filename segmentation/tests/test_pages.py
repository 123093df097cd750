"""Insight pages × personas: dashboard, run page, segment page, history, comparison.

Runs come from the real run service (`SegmentRunFactory`: request, then execute in this process) on
customers planted in four groups of 40/20/18/12; the engine labels segments largest first, so group g
is segment label g (the `seeded` fixture checks it).
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.utils.html import escape

from core.models import Activity
from customers.models import Customer
from customers.tests.factories import CENTERS, customer_groups_create
from segmentation.ml.formatting import format_duration
from segmentation.models import RunStatus, Segmentation, SegmentRun
from segmentation.tests.factories import SegmentationFactory, SegmentRunFactory, demo_and_personality
from tests.synth import PERSONALITY_MISSING_INCOME, PERSONALITY_ROWS

FEATURES = ("age", "annual_income", "spending_score")


def _duration(run: SegmentRun) -> str:
    """The run's duration as the pages print it."""
    return format_duration(run.duration_seconds)


@pytest.fixture
def seeded(db, admin_user):
    seg = SegmentationFactory(name="default", features=list(FEATURES))
    groups = customer_groups_create({0: 40, 1: 20, 2: 18, 3: 12})
    run = SegmentRunFactory(segmentation=seg, requested_by=admin_user)
    for label, members in groups.items():  # each planted group is one segment, labelled by size
        assert set(run.memberships.filter(segment__label=label).values_list("customer_id", flat=True)) == {
            c.pk for c in members
        }
    return seg, run, groups


# --- access: anonymous, outsider, viewer ---

PAGES = [
    "/",
    "/runs/{run}/",
    "/segments/{segment}/",
    "/segmentations/{seg}/runs/",
    "/runs/compare/?a={run}&b={run2}",
    "/segments/{segment}/members.csv",
    "/runs/compare/moves.csv?a={run}&b={run2}",
]


def _urls(seeded):
    seg, run, groups = seeded
    run2 = SegmentRunFactory(segmentation=seg, random_state=7)
    segment = run.segments.first()
    return [p.format(run=run.pk, segment=segment.pk, seg=seg.pk, run2=run2.pk) for p in PAGES]


def test_anonymous_is_redirected_to_login(seeded, anon_client):
    for url in _urls(seeded):
        r = anon_client.get(url)
        assert r.status_code == 302, url
        assert r["Location"].startswith("/accounts/login/"), url


def test_outsider_without_role_gets_403(seeded, outsider_user, client):
    client.force_login(outsider_user)
    for url in _urls(seeded):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("persona", ["viewer_client", "marketer_client", "admin_client"])
def test_every_page_renders_for_every_role(seeded, persona, request):
    c = request.getfixturevalue(persona)
    for url in _urls(seeded):
        r = c.get(url)
        expected = 403 if persona == "viewer_client" and ".csv" in url else 200  # exports need the permission
        assert r.status_code == expected, (url, r.status_code)


def test_bulk_exports_need_the_export_permission_and_are_audited(seeded, viewer_client, marketer_client):
    from core.models import Activity

    _seg, run, groups = seeded
    run2 = SegmentRunFactory(segmentation=_seg, random_state=7)
    segment = run.segments.get(label=3)
    members = f"/segments/{segment.pk}/members.csv"
    moves = f"/runs/compare/moves.csv?a={run.pk}&b={run2.pk}"
    for url in (members, moves):
        assert viewer_client.get(url).status_code == 403, url
    assert not Activity.objects.filter(verb__endswith="_exported").exists()
    assert "Download CSV" not in viewer_client.get(f"/segments/{segment.pk}/").content.decode()

    body = b"".join(marketer_client.get(members).streaming_content)
    entry = Activity.objects.get(verb="segment.members_exported")
    assert entry.actor.username == "mark-marketer" and entry.object_id == str(segment.pk)
    assert entry.detail["rows"] == 12 == body.count(b"\n") - 1 and entry.detail["finished"] is True
    b"".join(marketer_client.get(moves).streaming_content)
    entry = Activity.objects.get(verb="segmentation.moves_exported")
    assert entry.object_id == str(run2.pk) and entry.detail["from_run"] == run.pk
    assert entry.detail["rows"] == 0 and entry.detail["finished"] is True


# --- dashboard ---


def test_dashboard_shows_segment_cards_with_numbers_and_meta(seeded, viewer_client):
    seg, run, _ = seeded
    r = viewer_client.get("/")
    html = r.content.decode()
    assert html.count('class="card segment-card"') == 4
    assert escape(run.segments.get(label=1).name) in html and "high_value" in html and "upsell" in html
    assert "k$" in html and "/ 100" in html  # key numbers in real units
    assert "from 90 customers" in html and "alice-admin" in html and f"in {_duration(run)}" in html
    assert f"/segments/{run.segments.get(label=1).pk}/" in html
    assert "Re-segment now" not in html  # viewer


def test_dashboard_resegment_button_for_admin_only(seeded, admin_client, marketer_client):
    seg, _run, _ = seeded
    html = admin_client.get("/").content.decode()
    assert "Re-segment now" in html and f'action="/segmentations/{seg.pk}/run/"' in html
    assert "csrfmiddlewaretoken" in html
    assert "Re-segment now" not in marketer_client.get("/").content.decode()


def test_dashboard_banner_while_running_and_warning_after_failure(seeded, viewer_client):
    seg, run, _ = seeded
    running = SegmentRun.objects.create(
        segmentation=seg, version=2, status=RunStatus.RUNNING, stage="choosing k", progress=40
    )
    html = viewer_client.get("/").content.decode()
    assert f'data-run-status-url="/runs/{running.pk}/status.json"' in html
    assert "choosing k" in html and "40" in html
    assert "js/run-status.js" in html
    running.status = RunStatus.FAILED
    running.error = "feature 'age' is constant"
    running.save()
    html = viewer_client.get("/").content.decode()
    assert "The last run failed: feature &#x27;age&#x27; is constant." in html
    assert f"Segments shown are from {run.finished_at:%Y-%m-%d %H:%M}" in html
    assert "data-run-status-url" not in html


def test_dashboard_empty_state(db, viewer_client, admin_client):
    assert "No segments yet" in viewer_client.get("/").content.decode()
    Segmentation.objects.create(name="default")
    html = admin_client.get("/").content.decode()
    assert "No segments yet" in html and "has no run yet" in html and "Run now" in html


# --- run page ---


def test_run_page_has_every_chart_with_fixed_ids(seeded, viewer_client):
    _seg, run, _ = seeded
    html = viewer_client.get(f"/runs/{run.pk}/").content.decode()
    for div in (
        "chart-elbow",
        "chart-criteria",
        "chart-scatter2d",
        "chart-scatter3d",
        "chart-heatmap",
        "chart-radar",
        "chart-box",
        "chart-silhouette",
    ):
        assert f'id="{div}"' in html, div
    assert html.count("/static/vendor/plotly/plotly-segmenta.min.js") == 1 and "/static/js/charts.js" in html
    assert "sample of 90 of 90 customers" in html
    assert escape(run.k_reason) in html  # why k was chosen, as the run service wrote it
    assert run.evidence["disagreement"] is True and "criteria disagree" in html
    assert ("No clear structure" in html) is (run.evidence.get("structure") == "weak")
    run.evidence = {**run.evidence, "structure": "weak"}
    run.save(update_fields=["evidence"])
    assert "No clear structure" in viewer_client.get(f"/runs/{run.pk}/").content.decode()


def test_run_page_axes_chosen_by_get_params(seeded, viewer_client):
    _seg, run, _ = seeded
    r = viewer_client.get(f"/runs/{run.pk}/", {"x": "age", "y": "spending_score"})
    html = r.content.decode()
    assert "Spending score by Age" in html


@pytest.mark.parametrize(
    "params",
    [
        {"x": "password"},
        {"x": "' OR 1=1"},
        {"y": ""},
        {"z3": "\x00"},
        {"x": ["age", "spending_score"]},
        {"x3": "a" * 5000},
    ],
)
def test_run_page_bad_params_never_500(seeded, viewer_client, params):
    _seg, run, _ = seeded
    r = viewer_client.get(f"/runs/{run.pk}/", params)
    if any("\x00" in str(v) for v in params.values()):  # a NUL anywhere is a bad request (core middleware)
        assert r.status_code == 400
        return
    assert r.status_code == 200
    assert 'id="chart-scatter2d"' in r.content.decode()


def test_run_page_reports_invalid_axis(seeded, viewer_client):
    _seg, run, _ = seeded
    html = viewer_client.get(f"/runs/{run.pk}/", {"x": "shoe_size"}).content.decode()
    assert "x: &#x27;shoe_size&#x27; is not a feature of this run" in html


def test_run_page_failed_run_shows_the_error(seeded, viewer_client):
    seg, _run, _ = seeded
    failed = SegmentRun.objects.create(
        segmentation=seg,
        version=3,
        status=RunStatus.FAILED,
        stage="loading",
        error="worker lost while loading customers",
    )
    html = viewer_client.get(f"/runs/{failed.pk}/").content.decode()
    assert "This run failed" in html and "worker lost while loading customers" in html


def test_run_page_unknown_run_404(db, viewer_client):
    assert viewer_client.get("/runs/999999/").status_code == 404


def test_run_page_sample_is_capped_and_stratified(seeded, viewer_client, monkeypatch):
    from segmentation.selectors import samples as sel

    _seg, run, _ = seeded
    sample, total = sel.run_sample(run=run, features=list(FEATURES), limit=45)
    assert total == 90
    assert len(sample) <= 45
    sizes = dict(run.segments.values_list("label", "size"))
    counts = sample["label"].value_counts().to_dict()
    for label, size in sizes.items():
        assert counts.get(label, 0) <= int(45 * size / 90)
        assert counts.get(label, 0) >= int(45 * size / 90) * 0.5  # roughly proportional
    again, _ = sel.run_sample(run=run, features=list(FEATURES), limit=45)
    assert again["external_id"].tolist() == sample["external_id"].tolist()  # fixed seed


# --- segment page ---


def test_segment_page_profile_rules_members(seeded, viewer_client):
    _seg, run, _ = seeded
    segment = run.segments.get(label=1)
    html = viewer_client.get(f"/segments/{segment.pk}/").content.decode()
    assert "Annual income (k$)" in html
    assert "What explains this segment" in html and "precision" in html
    assert "annual income" in html or "spending score" in html
    assert "Page 1 of 1 · 20 members" in html
    assert 'class="strategy-form"' not in html  # viewer: read-only
    assert escape(segment.strategy) in html  # the playbook's strategy the run gave it


def test_segment_page_search_and_paginate(seeded, viewer_client):
    _seg, run, groups = seeded
    segment = run.segments.get(label=0)
    first = groups[0][0].external_id
    html = viewer_client.get(f"/segments/{segment.pk}/", {"q": first}).content.decode()
    assert first in html and "1 members" in html
    assert viewer_client.get(f"/segments/{segment.pk}/", {"page": "2"}).status_code == 200
    assert viewer_client.get(f"/segments/{segment.pk}/", {"page": "abc"}).status_code == 200
    assert viewer_client.get(f"/segments/{segment.pk}/", {"page": "99999"}).status_code == 200


def test_segment_members_csv(seeded, marketer_client):
    _seg, run, groups = seeded
    segment = run.segments.get(label=3)
    Customer.objects.filter(pk=groups[3][0].pk).update(external_id="=HYPERLINK(1)")
    r = marketer_client.get(f"/segments/{segment.pk}/members.csv")
    assert r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert rows[0][0] == "external_id"
    assert len(rows) == 1 + 12
    assert "'=HYPERLINK(1)" in [row[0] for row in rows]  # formula-safe


def test_marketer_edits_strategy_with_audit(seeded, marketer_client, marketer_user):
    _seg, run, _ = seeded
    segment = run.segments.get(label=2)
    playbook = segment.strategy
    html = marketer_client.get(f"/segments/{segment.pk}/").content.decode()
    assert 'class="strategy-form"' in html
    r = marketer_client.post(f"/segments/{segment.pk}/strategy/", {"strategy": "  Premium bundle offer  "})
    assert r.status_code == 302
    segment.refresh_from_db()
    assert segment.strategy == "Premium bundle offer"
    assert segment.strategy_source == "override"
    assert segment.strategy_edited_by == marketer_user and segment.strategy_edited_at is not None
    act = Activity.objects.get(verb="segment.strategy_edited")
    assert act.before["strategy"] == playbook and act.after["strategy"] == "Premium bundle offer"
    assert act.actor == marketer_user


def test_viewer_cannot_edit_strategy(seeded, viewer_client):
    _seg, run, _ = seeded
    segment = run.segments.get(label=2)
    playbook = segment.strategy
    assert viewer_client.post(f"/segments/{segment.pk}/strategy/", {"strategy": "x"}).status_code == 403
    segment.refresh_from_db()
    assert segment.strategy == playbook


def test_strategy_edit_is_post_only_and_validated(seeded, admin_client):
    _seg, run, _ = seeded
    segment = run.segments.get(label=2)
    assert admin_client.get(f"/segments/{segment.pk}/strategy/").status_code == 405
    r = admin_client.post(f"/segments/{segment.pk}/strategy/", {"strategy": "   "}, follow=True)
    assert "strategy" in r.content.decode() and "required" in r.content.decode()
    segment.refresh_from_db()
    assert segment.strategy_source == "playbook"


def test_strategy_edit_requires_csrf(seeded, marketer_user):
    from django.test import Client

    _seg, run, _ = seeded
    c = Client(enforce_csrf_checks=True)
    c.force_login(marketer_user)
    segment = run.segments.first()
    assert c.post(f"/segments/{segment.pk}/strategy/", {"strategy": "x"}).status_code == 403


# --- history and comparison ---


def test_history_lists_every_run(seeded, viewer_client):
    seg, run, _ = seeded
    SegmentRun.objects.create(segmentation=seg, version=5, status=RunStatus.FAILED, error="boom")
    html = viewer_client.get(f"/segmentations/{seg.pk}/runs/").content.decode()
    assert f"#{run.pk}" in html and "active" in html and "Failed" in html and "boom" in html and _duration(run) in html


def test_compare_same_partition_has_ari_1(seeded, viewer_client):
    seg, run, groups = seeded
    # the same customers segmented again (another seed): the same groups
    run2 = SegmentRunFactory(segmentation=seg, random_state=7)
    html = viewer_client.get("/runs/compare/", {"a": run.pk, "b": run2.pk}).content.decode()
    assert '<div class="value ari">1.000</div>' in html
    assert 'id="chart-migration"' in html


def test_compare_reports_movers(seeded, viewer_client, marketer_client):
    seg, run, groups = seeded
    # five customers of group 0 now look like group 1; the next run moves them
    moved = groups[0][:5]
    age, income, spending = CENTERS[1]
    Customer.objects.filter(pk__in=[c.pk for c in moved]).update(
        age=int(age), annual_income=income, spending_score=spending
    )
    run2 = SegmentRunFactory(segmentation=seg)
    from segmentation.selectors.comparison import run_compare

    result = run_compare(run_a=run, run_b=run2)
    by_label = {row["b"].label: row for row in result["rows"]}
    assert by_label[1]["entered"] == 5 and by_label[1]["a"].label == 1
    assert by_label[0]["left"] == 5
    assert sorted(by_label[1]["entered_ids"]) == sorted(c.external_id for c in moved)
    assert 0.8 < result["ari"] < 1.0
    r = marketer_client.get("/runs/compare/moves.csv", {"a": run.pk, "b": run2.pk})
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert len(rows) == 1 + 5
    assert {row[0] for row in rows[1:]} == {c.external_id for c in moved}


@pytest.mark.parametrize(
    "params", [{"a": "x", "b": "1"}, {"a": "1"}, {"a": "999999", "b": "999998"}, {"a": "-1", "b": "2"}]
)
def test_compare_bad_params_are_400_not_500(seeded, viewer_client, marketer_client, params):
    assert viewer_client.get("/runs/compare/", params).status_code == 400
    assert marketer_client.get("/runs/compare/moves.csv", params).status_code == 400


def test_compare_same_run_twice_is_400(seeded, viewer_client):
    _seg, run, _ = seeded
    r = viewer_client.get("/runs/compare/", {"a": run.pk, "b": run.pk})
    assert r.status_code == 400 and "two different runs" in r.content.decode()


def test_compare_without_params_shows_form(seeded, viewer_client):
    assert viewer_client.get("/runs/compare/").status_code == 200


def test_segment_page_lists_campaigns_using_it(seeded, viewer_client):
    from django.apps import apps

    _seg, run, _ = seeded
    segment = run.segments.get(label=1)
    Campaign = apps.get_model("campaigns", "Campaign")
    campaign = Campaign.objects.create(name="Spring VIP preview")
    campaign.segments.add(segment)
    html = viewer_client.get(f"/segments/{segment.pk}/").content.decode()
    assert "Campaigns using this segment" in html and "Spring VIP preview" in html
    other = run.segments.get(label=0)
    assert "Spring VIP preview" not in viewer_client.get(f"/segments/{other.pk}/").content.decode()


def test_viewer_and_marketer_cannot_resegment(seeded, viewer_client, marketer_client):
    seg, _run, _ = seeded
    before = SegmentRun.objects.count()
    assert viewer_client.post(f"/segmentations/{seg.pk}/run/").status_code == 403
    assert marketer_client.post(f"/segmentations/{seg.pk}/run/").status_code == 403
    assert SegmentRun.objects.count() == before


def test_evidence_reader_reads_the_one_stored_shape(seeded):
    from segmentation.ml.types import Evidence, KEvidence
    from segmentation.selectors.runs import run_evidence

    _seg, run, _ = seeded
    written = run.evidence  # exactly what the run service stored
    ev = run_evidence(run=run)
    assert [r["k"] for r in ev["per_k"]] == sorted(r["k"] for r in written["per_k"]) == list(range(2, 11))
    assert ev["knee"] == written["preferred"]["elbow"] and ev["disagreement"] is written["disagreement"] is True
    per_k = (KEvidence(3, 5.0, 0.4, None, None, None), KEvidence(2, 9.0, 0.3, None, None, None))
    run.evidence = Evidence(per_k=per_k, preferred={"silhouette": 3, "elbow": 2}).as_dict()
    ev = run_evidence(run=run)
    assert [r["k"] for r in ev["per_k"]] == [2, 3] and ev["knee"] == 2 and ev["disagreement"] is False
    assert ev["per_k"][0] == {
        "k": 2,
        "inertia": 9.0,
        "silhouette": 0.3,
        "calinski_harabasz": None,
        "davies_bouldin": None,
        "stability": None,
    }
    run.evidence = {}
    assert run_evidence(run=run) == {
        "per_k": [],
        "preferred": {},
        "knee": None,
        "disagreement": False,
        "structure": "",
    }
    run.evidence = Evidence(structure="weak").as_dict()
    assert run_evidence(run=run)["structure"] == "weak"


def test_run_page_with_an_attribute_feature_and_no_params(seeded, viewer_client):
    """Features come from the centroids when params are empty; an imported attribute can be an axis."""
    _seg, run, groups = seeded
    for i, c in enumerate(c for cs in groups.values() for c in cs):
        Customer.objects.filter(pk=c.pk).update(attributes={"visits": i % 7})
    run.params = {}
    run.save()
    for s in run.segments.all():
        s.centroid = {**s.centroid, "visits": 3.0}
        s.save()
    r = viewer_client.get(f"/runs/{run.pk}/", {"x": "visits", "y": "age"})
    assert r.status_code == 200
    assert "Age by Visits" in r.content.decode()


def test_run_page_of_a_run_without_segments_or_evidence(seeded, viewer_client):
    seg, _run, _ = seeded
    queued = SegmentRun.objects.create(segmentation=seg, version=9, status=RunStatus.QUEUED)
    html = viewer_client.get(f"/runs/{queued.pk}/").content.decode()
    assert f'data-run-status-url="/runs/{queued.pk}/status.json"' in html
    assert "js-plotly-plot" not in html


# --- issue 9: members only, coverage, units ---


@pytest.fixture
def personality_run(db, tmp_path, admin_user):
    """Demo customers (Mall columns) + a Personality-like file; a run on the Personality columns, income in $."""
    features = demo_and_personality(tmp_path)
    run = SegmentRunFactory(segmentation=SegmentationFactory(name="Personality"), features=features, k=4)
    # The run's own units (frozen by the run service once the column registry has them): income in dollars.
    SegmentRun.objects.filter(pk=run.pk).update(params={**run.params, "units": {features[0]: "$"}})
    run.refresh_from_db()
    return run, features


def _visible(html: str) -> str:
    """The page without its <script> blocks (plotly's own library code is not the page's text)."""
    return re.sub(r"<script\b.*?</script>", "", html, flags=re.S)


def test_pages_show_only_members_in_the_run_units(personality_run, viewer_client):
    run, features = personality_run
    members = PERSONALITY_ROWS - PERSONALITY_MISSING_INCOME
    segment = run.segments.order_by("label").first()
    pages = {
        "dashboard": viewer_client.get("/").content.decode(),
        "run": viewer_client.get(f"/runs/{run.pk}/").content.decode(),
        "segment": viewer_client.get(f"/segments/{segment.pk}/").content.decode(),
    }
    for name, html in pages.items():
        assert "k$" not in html, name  # dollars are never shown as thousands of dollars
        assert not re.search(r"\de[+-]0\d", _visible(html)), name  # no scientific notation
    run_html = pages["run"]
    assert f"of the run&#x27;s {members:,} members" in run_html or f"of the run's {members:,} members" in run_html
    assert f"sample of {members:,} of {members:,} customers" in run_html  # chart titles: members only
    assert "Age (years)" not in run_html  # axes are the run's features; demo columns are not offered
    assert "Income ($)" in run_html or "Annual income ($)" in run_html
    for html in (pages["dashboard"], run_html):
        assert "2,024 customers are not in this segmentation" in html
        assert "missing all 4 features (2,000)" in html or "missing 3 of 4 features (2,000)" in html
        assert f"from {members:,} customers" in html or f"{members:,}</div>" in html
    seg_html = pages["segment"]
    assert re.search(r"\$\d{1,3},\d{3}", seg_html)  # e.g. $58,138 in the profile and the members table
    assert "DEMO-" not in seg_html


def test_pages_count_customers_who_arrived_since_the_run(personality_run, viewer_client, admin_client):
    run, _features = personality_run
    customer_groups_create({0: 1}, prefix="LATE-")  # after the run; Mall columns only
    html = viewer_client.get("/").content.decode()
    assert "1 customer arrived since this run was computed" in html
    assert "2,025 customers are not in this segmentation" in html
    assert "resegment-hint" in admin_client.get("/").content.decode() and "resegment-hint" not in html
    admin_run = admin_client.get(f"/runs/{run.pk}/").content.decode()
    assert "Re-segment now" in admin_run and "run-coverage" in admin_run
    assert "Re-segment now" not in viewer_client.get(f"/runs/{run.pk}/").content.decode()


def test_singular_counts(db, viewer_client):
    customer_groups_create({0: 3, 1: 1}, prefix="S")
    run = SegmentRunFactory(segmentation=SegmentationFactory(name="tiny"), k=2)
    sizes = sorted(run.segments.values_list("size", flat=True))
    html = viewer_client.get("/").content.decode()
    assert "1 customers" not in html
    if sizes[0] == 1:
        assert "1 customer ·" in html


def test_members_csv_has_the_run_columns_and_members_only(personality_run, marketer_client):
    run, features = personality_run
    segment = run.segments.order_by("label").first()
    body = b"".join(marketer_client.get(f"/segments/{segment.pk}/members.csv").streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == segment.size
    assert "mnt_wines" in rows[0] and rows[0]["mnt_wines"] != ""
    assert not any(r["external_id"].startswith("DEMO-") for r in rows)
