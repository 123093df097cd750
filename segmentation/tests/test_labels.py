"""Labels in plain business language: criteria named and explained, flags as words, events as sentences,
durations in their unit, a radar only from three features."""

from __future__ import annotations

import itertools

import pytest
from django.template import Context, Template

from core.activity import activity_sentence, activity_sentences, activity_verb_label
from core.models import Activity
from core.services import activity_record
from customers.tests.factories import customer_groups_create
from segmentation.ml import charts
from segmentation.ml.criteria import CRITERIA, criterion_explanation, criterion_label
from segmentation.ml.flags import FLAG_LABELS, flag_label, flags_for
from segmentation.ml.formatting import format_duration
from segmentation.models import SegmentRun
from segmentation.tests.factories import SegmentationFactory, SegmentRunFactory

# --- criteria ---------------------------------------------------------------------------------------


def test_one_mapping_names_and_explains_every_criterion():
    assert criterion_label("calinski_harabasz") == "Calinski–Harabasz"
    assert criterion_label("davies_bouldin") == "Davies–Bouldin"
    assert "higher = better separated" in criterion_explanation("calinski_harabasz")
    assert "lower = better" in criterion_explanation("davies_bouldin")
    assert criterion_label("my_score") == "My score" and criterion_explanation("my_score") == ""
    for key, c in CRITERIA.items():
        assert c.label and c.explanation.endswith("."), key
    # the charts' panels take their titles from the same mapping
    assert [title for _, title, _ in charts.CRITERIA] == [
        "Silhouette (higher is better)",
        "Calinski–Harabasz (higher is better)",
        "Davies–Bouldin (lower is better)",
        "Stability (higher is better)",
    ]


def test_criterion_tag_escapes_and_explains_on_hover():
    html = Template("{% load words %}{% criterion_name key %}").render(Context({"key": "calinski_harabasz"}))
    assert html.startswith('<abbr class="criterion" title="Spread between segments')
    assert ">Calinski–Harabasz</abbr>" in html
    evil = Template("{% load words %}{% criterion_name key %}").render(Context({"key": "<b>x"}))
    assert "<b>" not in evil and "&lt;b&gt;x" in evil


# --- flags ------------------------------------------------------------------------------------------


def test_every_flag_the_engine_can_give_has_words():
    given: set[str] = set()
    levels = ("low", "average", "high", None)
    for cap, mon, freq, rec, age in itertools.product(levels, repeat=5):
        roles = {
            k: v
            for k, v in zip(("capacity", "monetary", "frequency", "recency"), (cap, mon, freq, rec), strict=True)
            if v
        }
        feature_levels = {"age": age} if age else {}
        for high_value in (False, True):
            given.update(flags_for(feature_levels, roles, high_value=high_value))
    given.update(flags_for({"a": "average", "b": "average"}, {}))
    assert given <= set(FLAG_LABELS), given - set(FLAG_LABELS)
    assert flag_label("high_value") == "High value" and flag_label("upsell") == "Upsell opportunity"
    assert flag_label("vip_gold") == "Vip gold"


def test_flag_tags_show_words_and_keep_the_key_as_class():
    html = Template("{% load words %}{% flag_tags flags %}").render(Context({"flags": ["high_value", "upsell"]}))
    assert '<span class="tag high_value" title="The segment that spends the most on average.">High value</span>' in html
    assert ">Upsell opportunity</span>" in html and ">high_value<" not in html


# --- numbers in units -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (0.04, "0.04 s"), (1.26, "1.3 s"), (12.4, "12 s"), (185, "3 min 5 s"), (7440, "2 h 4 min")],
)
def test_durations_read_in_their_unit(seconds, text):
    assert format_duration(seconds) == text


# --- radar ------------------------------------------------------------------------------------------

SEGMENTS = [
    {
        "label": i,
        "name": f"Segment {i}",
        "color": color,
        "profile": {
            f: {"mean": mean, "min": 0.0, "max": 100.0}
            for f, mean in zip(("annual_income", "spending_score", "age"), means, strict=True)
        },
    }
    for i, (color, means) in enumerate([("#2563eb", (20.0, 80.0, 30.0)), ("#dc2626", (90.0, 10.0, 60.0))])
]


@pytest.mark.parametrize("n", [1, 2])
def test_fewer_than_three_features_give_grouped_bars_not_a_radar(n):
    features = ["annual_income", "spending_score", "age"][:n]
    fig = charts.radar_figure(SEGMENTS, features)
    assert {t.type for t in fig.data} == {"bar"} and fig.layout.barmode == "group"
    assert list(fig.data[0].x) == [charts.feature_label(f) for f in features]
    assert fig.data[1].y[0] == pytest.approx(0.9)
    assert "mean" in fig.data[0].hovertemplate and fig.data[0].customdata[0] == "20 k$"


def test_three_features_give_a_radar():
    fig = charts.radar_figure(SEGMENTS, ["annual_income", "spending_score", "age"])
    assert {t.type for t in fig.data} == {"scatterpolar"}


# --- pages ------------------------------------------------------------------------------------------


@pytest.fixture
def run(db, admin_user) -> SegmentRun:
    seg = SegmentationFactory(name="Behaviour", features=["annual_income", "spending_score"])
    customer_groups_create({0: 40, 1: 20, 2: 18, 3: 12})
    return SegmentRunFactory(segmentation=seg, requested_by=admin_user)


def test_run_page_names_criteria_and_flags_in_words(run, viewer_client):
    html = viewer_client.get(f"/runs/{run.pk}/").content.decode()
    assert "calinskiharabasz" not in html and "daviesbouldin" not in html
    assert 'title="Spread between segments divided by spread within them: higher = better separated' in html
    assert ">Calinski–Harabasz</abbr> prefers k =" in html
    flags = [f for s in run.segments.all() for f in s.flags]
    assert flags
    for f in flags:
        assert f'<span class="tag {f}" title="{FLAG_LABELS[f][1]}">{FLAG_LABELS[f][0]}</span>' in html
    assert 'aria-label="Segments compared"' in html  # two features: bars, titled as such
    assert 'aria-label="Radar"' not in html


def test_segment_page_shows_flags_and_strategy_source_in_words(run, viewer_client):
    segment = next(s for s in run.segments.all() if s.flags)
    html = viewer_client.get(f"/segments/{segment.pk}/").content.decode()
    assert f">{flag_label(segment.flags[0])}</span>" in html
    assert "Source: Playbook rule" in html


# --- activity as sentences --------------------------------------------------------------------------


def test_run_entries_read_as_sentences_with_the_segmentation_name(run, admin_user):
    run_str = str(run)
    assert run_str == f"Run #{run.pk} of “Behaviour” (succeeded)"  # not "Run #2 of 1"
    rows = activity_sentences(Activity.objects.filter(verb__startswith="segmentation."))
    sentences = {a.verb: s for a, s, _ in rows}
    assert sentences["segmentation.run_activated"] == (
        f"{admin_user.username} activated run #{run.pk} of “Behaviour” ({run.chosen_k} segments)"
    )
    assert sentences["segmentation.run_requested"] == f"{admin_user.username} asked for run #{run.pk} of “Behaviour”"
    assert activity_verb_label("segmentation.run_activated") == "Run activated"


def test_unknown_verbs_and_missing_fields_still_read(db):
    a = activity_record(actor=None, verb="imports.shape_guessed", object_repr="orders.csv")
    assert activity_sentence(a) == "Segmenta: shape guessed orders.csv"
    b = activity_record(actor=None, verb="campaign.export", object_type="campaigns.Campaign", object_repr="Spring")
    assert activity_sentence(b) == "Segmenta exported ? customers of Spring (?)"


def test_activity_page_shows_sentences_and_labels_not_verbs(run, admin_client, admin_user):
    html = admin_client.get("/activity/").content.decode()
    assert f"activated run #{run.pk} of “Behaviour”" in html
    assert '<option value="segmentation.run_activated">Run activated</option>' in html
    assert "<code>segmentation.run_activated</code>" not in html
