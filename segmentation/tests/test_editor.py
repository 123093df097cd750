"""The segmentation editor: list, create, edit, preview, save and run, per persona."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from core.models import Activity
from customers.tests.factories import customer_blobs_create
from segmentation.models import Membership, Segment, Segmentation, SegmentRun
from segmentation.selectors.editor import column_stats, customers_sample, segmentation_preview
from segmentation.services.config import config_from_values
from segmentation.tests.factories import SegmentationFactory

pytestmark = pytest.mark.django_db

LIST = reverse("segmentation:segmentation-list")
NEW = reverse("segmentation:segmentation-create")
PREVIEW = reverse("segmentation:segmentation-preview")


def form_data(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Behaviour",
        "description": "What they spend",
        "features": ["annual_income", "spending_score"],
        "scaler": "minmax",
        "transform": "auto",
        "k_mode": "auto",
        "k": "",
        "k_min": "2",
        "k_max": "6",
        "min_share_pct": "2",
        "missing_policy": "drop",
        "outliers": "set_apart",
        "age_bins": "18, 25, 35, 45, 55, 65",
        "schedule": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def customers():
    return customer_blobs_create(240)


def _client(request, persona: str) -> Client:
    if persona == "anon":
        return Client()
    return request.getfixturevalue(f"{persona}_client")


# -- who may see and do what ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "list_status", "editor_status"),
    [("admin", 200, 200), ("marketer", 200, 200), ("viewer", 200, 403)],
)
def test_who_sees_the_list_and_the_editor(request, persona, list_status, editor_status, customers):
    seg = SegmentationFactory(name="Demographic")
    client = _client(request, persona)
    response = client.get(LIST)
    assert response.status_code == list_status
    assert "Demographic" in response.content.decode()
    assert client.get(NEW).status_code == editor_status
    assert client.get(reverse("segmentation:segmentation-edit", args=[seg.pk])).status_code == editor_status
    assert client.post(PREVIEW, form_data()).status_code == (200 if editor_status == 200 else 403)


def test_the_list_shows_actions_by_role(admin_client, marketer_client, viewer_client, customers):
    SegmentationFactory(name="Demographic")
    admin_page = admin_client.get(LIST).content.decode()
    assert "New segmentation" in admin_page and ">Edit<" in admin_page and "ask an Admin" not in admin_page
    assert ">Run now<" in admin_page
    marketer_page = marketer_client.get(LIST).content.decode()
    assert "New segmentation" in marketer_page and ">Edit<" in marketer_page
    assert "Running needs the ‘Can start a re-segmentation’ permission; ask an Admin." in marketer_page
    assert ">Run now<" not in marketer_page
    viewer_page = viewer_client.get(LIST).content.decode()
    assert "New segmentation" not in viewer_page and ">Edit<" not in viewer_page
    assert "No run yet" in viewer_page


def test_anonymous_is_sent_to_login():
    for url in (LIST, NEW):
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Client().post(PREVIEW, form_data()).status_code == 302


def test_viewer_may_not_save(viewer_client, customers):
    assert viewer_client.post(NEW, form_data()).status_code == 403
    assert not Segmentation.objects.filter(name="Behaviour").exists()


# -- saving ----------------------------------------------------------------------------------------------------


def test_marketer_creates_a_segmentation_with_per_column_choices_and_it_is_audited(
    marketer_client, marketer_user, customers
):
    data = form_data(
        **{"scaler__annual_income": "robust", "transform__spending_score": "none", "k_mode": "fixed", "k": "3"}
    )
    response = marketer_client.post(NEW, data)
    assert response.status_code == 302 and response["Location"] == LIST
    seg = Segmentation.objects.get(name="Behaviour")
    assert seg.features == ["annual_income", "spending_score"]
    assert seg.scalers == {"annual_income": "robust"}
    assert seg.transforms == {"spending_score": "none"}
    assert (seg.k, seg.k_min, seg.k_max, seg.min_share) == (3, 2, 6, 0.02)
    entry = Activity.objects.get(verb="segmentation.created")
    assert entry.actor == marketer_user and entry.before is None
    assert entry.after["scalers"] == {"annual_income": "robust"}
    assert not SegmentRun.objects.exists()


def test_editing_records_before_and_after(marketer_client, customers):
    seg = SegmentationFactory(name="Demographic", features=["age", "annual_income"])
    response = marketer_client.post(
        reverse("segmentation:segmentation-edit", args=[seg.pk]),
        form_data(name="Demographic", features=["age", "annual_income"], schedule="0 3 * * 1"),
    )
    assert response.status_code == 302
    seg.refresh_from_db()
    assert seg.k_max == 6 and seg.schedule == "0 3 * * 1"
    entry = Activity.objects.get(verb="segmentation.changed")
    assert entry.before["k_max"] == 10 and entry.after["k_max"] == 6


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"features": []}, "features", "Choose at least one column."),
        ({"k_min": "5", "k_max": "3"}, "k_max", "allowed is k_min (5) to 100; got 3"),
        ({"k_mode": "fixed", "k": "1"}, "k", "allowed is auto or a number from 2 to 100; got 1"),
        ({"k_mode": "fixed", "k": ""}, "k", "a fixed k needs a number from 2 to 100"),
        ({"age_bins": "30, 20"}, "age_bins", "expected increasing whole numbers; got [30, 20]"),
        ({"age_bins": "18, old"}, "age_bins", "expected whole numbers separated by commas; got 'old'"),
        ({"min_share_pct": "50"}, "min_share_pct", "allowed is 0 to 20 %; got 50"),
        ({"schedule": "every monday"}, "schedule", "expected 5 cron fields"),
        ({"features": ["annual_income", "shoe_size"]}, "features", "Select a valid choice"),
    ],
)
def test_bad_values_show_the_error_next_to_their_field(marketer_client, customers, changes, field, message):
    response = marketer_client.post(NEW, form_data(**changes))
    assert response.status_code == 422
    form = response.context["form"]
    assert any(message in e for e in form.errors[field]), form.errors
    assert message.replace("'", "&#x27;") in response.content.decode() or message in response.content.decode()
    assert not Segmentation.objects.filter(name="Behaviour").exists()


def test_a_name_in_use_is_refused(marketer_client, customers):
    SegmentationFactory(name="Behaviour")
    response = marketer_client.post(NEW, form_data(name="behaviour"))
    assert response.status_code == 422
    assert "a segmentation named 'behaviour' exists already" in response.context["form"].errors["name"][0]


# -- preview ---------------------------------------------------------------------------------------------------


def _counts() -> tuple[int, ...]:
    return (
        Segmentation.objects.count(),
        SegmentRun.objects.count(),
        Segment.objects.count(),
        Membership.objects.count(),
        Activity.objects.count(),
    )


def test_preview_shows_k_evidence_and_sizes_and_writes_nothing(marketer_client, customers):
    seg = SegmentationFactory(name="Demographic")
    before = _counts()
    response = marketer_client.post(PREVIEW, form_data(segmentation=seg.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "On a sample of 240 of 240 customers" in html and "Nothing is saved" in html
    assert "3 segments." in html  # the three blobs
    assert html.count("(chosen)") == 1
    preview = response.context["preview"]
    assert preview.chosen_k == 3 and sum(s["size"] for s in preview.sizes) == 240
    assert [e["k"] for e in preview.evidence] == [2, 3, 4, 5, 6]
    assert _counts() == before


def test_preview_without_javascript_rerenders_the_form_with_the_preview(marketer_client, customers):
    before = _counts()
    response = marketer_client.post(NEW, form_data(action="preview"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="editor-form"' in html and "Segment sizes (on the sample)" in html
    assert 'value="Behaviour"' in html  # the typed values stay in the form
    assert _counts() == before


def test_preview_of_bad_values_names_the_field(marketer_client, customers):
    response = marketer_client.post(PREVIEW, form_data(k_min="5", k_max="3"))
    assert response.status_code == 422
    assert "k_max: allowed is k_min (5) to 100; got 3" in response.content.decode()


def test_preview_samples_a_bounded_number_of_customers(customers):
    frame, total = customers_sample(features=["annual_income"], limit=100)
    assert total == 240 and len(frame) == 100
    again, _ = customers_sample(features=["annual_income"], limit=100)
    assert list(frame.index) == list(again.index)  # the same sample for the same data
    values = SegmentationFactory(name="Demographic").config_values()
    preview = segmentation_preview(config=config_from_values(values=values), limit=100)
    assert preview.ok and preview.sample_size == 100 and preview.total == 240


def test_column_stats_give_coverage_and_a_histogram(customers):
    stats = column_stats()
    by_key = {c.key: c for c in stats.columns}
    assert set(by_key) >= {"gender", "age", "annual_income", "spending_score"}
    income = by_key["annual_income"]
    assert income.coverage == 1.0 and income.unit == "k$" and income.role == "capacity"
    assert max(income.bars) == 1.0 and len(income.bars) == 16 and income.histogram_rects()
    assert stats.sample_size == 240


# -- running and the dashboard --------------------------------------------------------------------------------


def test_marketer_may_not_save_and_run(marketer_client, customers):
    assert marketer_client.post(NEW, form_data(action="save_run")).status_code == 403
    assert not Segmentation.objects.filter(name="Behaviour").exists()
    assert "Save and run" not in marketer_client.get(NEW).content.decode()


def test_admin_saves_and_runs_through_the_queue(admin_client, customers, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(NEW, form_data(action="save_run"))
    run = SegmentRun.objects.get()
    assert response.status_code == 302 and response["Location"].rstrip("/").endswith(f"/runs/{run.pk}")
    assert run.status == "queued" and run.segmentation.name == "Behaviour"
    assert run.params["features"] == ["annual_income", "spending_score"]
    assert len(callbacks) == 1  # enqueued on commit, never run inline


def test_a_new_segmentation_shows_on_the_dashboard_and_an_admin_runs_it_from_there(
    admin_client, marketer_client, customers, django_capture_on_commit_callbacks
):
    marketer_client.post(NEW, form_data())
    seg = Segmentation.objects.get(name="Behaviour")
    marketer_page = marketer_client.get(reverse("segmentation:dashboard")).content.decode()
    assert "Behaviour" in marketer_page and "This segmentation has no run yet." in marketer_page
    assert "ask an Admin" in marketer_page and "Run now" not in marketer_page
    admin_page = admin_client.get(reverse("segmentation:dashboard")).content.decode()
    assert "Run now" in admin_page
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("segmentation:run-request", args=[seg.pk]))
    assert response.status_code == 302
    run = SegmentRun.objects.get(segmentation=seg)
    assert run.params["features"] == ["annual_income", "spending_score"]


def test_a_marketer_granted_the_run_permission_may_save_and_run(marketer_user, customers):
    marketer_user.user_permissions.add(Permission.objects.get(codename="run_segmentation"))
    client = Client()
    client.force_login(marketer_user)
    page = client.get(NEW).content.decode()
    assert "Save and run" in page and "ask an Admin" not in page
    response = client.post(NEW, form_data(action="save_run"))
    assert response.status_code == 302
    assert SegmentRun.objects.get().segmentation.name == "Behaviour"
