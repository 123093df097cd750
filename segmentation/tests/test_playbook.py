"""The playbook: shipped defaults, matching, strategy of new segments, audited edits."""

from __future__ import annotations

import pytest

from core.exceptions import ConfigError, DataError, NotAllowed
from core.models import Activity
from customers.tests.factories import customer_groups_create
from segmentation import playbook
from segmentation.ml.strategies import (
    GENERIC_WORDS,
    STRATEGY_RULES,
    strategy_rationale,
    strategy_rule_for,
    strategy_text,
)
from segmentation.ml.types import SegmentProfile
from segmentation.models import PlaybookRule
from segmentation.services.strategies import (
    playbook_rule_create,
    playbook_rule_update,
    segment_rename,
    strategy_for_segment,
)
from segmentation.tests.factories import SegmentRunFactory


def _profile(flags=(), **z) -> SegmentProfile:
    return SegmentProfile(
        label=0, name="x", size=10, share=0.1, centroid={},
        stats={f: {"mean": 0.0, "z": v} for f, v in z.items()}, flags=list(flags), strategy="Engine text",
    )  # fmt: skip


@pytest.mark.django_db
def test_defaults_exist_after_migrate():
    rules = [r for r in PlaybookRule.objects.all() if not r.name.startswith("RFM: ")]  # test_rfm_runs has those
    assert [r.name for r in rules] == [r["title"] for r in STRATEGY_RULES]
    assert all(r.builtin and r.active for r in rules)
    assert rules[-1].flags == [] and rules[-1].priority == 1000  # the last resort matches every segment


@pytest.mark.django_db
def test_shipped_rationales_speak_of_roles_not_mall_columns():
    rules = {r.name: r for r in PlaybookRule.objects.all()}
    for rule in STRATEGY_RULES:
        assert rules[rule["title"]].rationale == strategy_rationale(rule, GENERIC_WORDS)
    assert not any("earn" in r.rationale or "spending" in r.rationale for r in rules.values())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "flags",
    [
        ["high_value"],
        ["upsell"],
        ["young_spenders"],
        ["budget"],
        ["aspirational"],
        ["mainstream"],
        ["upsell", "at_risk"],
        [],
    ],
)
def test_defaults_give_what_the_engine_would(flags):
    """Out of the box the playbook recommends the engine's rule-table text for every flag combination."""
    assert strategy_for_segment(_profile(flags)) == strategy_text(strategy_rule_for(flags))


@pytest.mark.django_db
def test_no_active_rule_keeps_engine_text(admin_user):
    PlaybookRule.objects.update(active=False)
    assert strategy_for_segment(_profile(["high_value"])) == "Engine text"


@pytest.mark.django_db
def test_edited_playbook_drives_strategy_and_is_audited(admin_user):
    rule = PlaybookRule.objects.get(flags=["high_value"])
    old = rule.actions
    playbook_rule_update(actor=admin_user, rule=rule, actions="Invite to the VIP evening.")
    assert strategy_for_segment(_profile(["high_value"])) == "Invite to the VIP evening."
    entry = Activity.objects.get(verb="playbook.update")
    assert entry.actor == admin_user
    assert entry.before["actions"] == old
    assert entry.after["actions"] == "Invite to the VIP evening."


@pytest.mark.django_db
def test_conditions_and_priority(admin_user):
    playbook_rule_create(
        actor=admin_user, name="Young high spenders", priority=1, flags=[],
        conditions=[
            {"feature": "age", "stat": "z", "op": "lte", "value": -0.5},
            {"feature": "spending_score", "stat": "z", "op": "gte", "value": 0.5},
        ],
        actions="Loyalty and new arrivals.",
    )  # fmt: skip
    assert strategy_for_segment(_profile(["high_value"], age=-1.0, spending_score=1.0)) == "Loyalty and new arrivals."
    assert strategy_for_segment(_profile(["high_value"], age=0.2, spending_score=1.0)).startswith("Retain and reward")
    assert strategy_for_segment(_profile(["high_value"], spending_score=1.0)).startswith("Retain and reward")
    assert Activity.objects.filter(verb="playbook.create").count() == 1


def test_conditions_validate_names_the_problem():
    with pytest.raises(ConfigError, match="condition 1, op: expected one of gt, gte, lt, lte; got 'bigger'"):
        playbook.conditions_validate([{"feature": "age", "op": "bigger", "value": 1}])
    with pytest.raises(ConfigError, match="condition 2, value: expected a number; got 'high'"):
        playbook.conditions_validate(
            [{"feature": "age", "op": "gt", "value": 1}, {"feature": "age", "op": "gt", "value": "high"}]
        )
    with pytest.raises(ConfigError, match="condition 1, stat: expected one of mean, median, min, max, z; got 'avg'"):
        playbook.conditions_validate([{"feature": "age", "stat": "avg", "op": "gt", "value": 1}])


def test_missing_feature_never_matches():
    rule = PlaybookRule(flags=[], conditions=[{"feature": "age", "stat": "z", "op": "lte", "value": -0.5}])
    assert not playbook.rule_matches(rule, flags=[], stats={"annual_income": {"z": -2}})
    assert playbook.rule_matches(rule, flags=[], stats={"age": {"z": -2}})


@pytest.mark.django_db
def test_a_person_renames_a_segment_and_the_name_is_theirs(marketer_user, viewer_user):
    customer_groups_create({0: 20, 1: 20, 2: 20})
    segment = SegmentRunFactory(k=3).segments.first()
    assert segment.name_source == "engine"
    renamed = segment_rename(segment=segment, name="  Weekend regulars ", user=marketer_user)
    assert (renamed.name, renamed.name_source) == ("Weekend regulars", "person")
    assert Activity.objects.filter(verb="segment.renamed").count() == 1
    with pytest.raises(DataError, match="name: must not be empty; got ''"):
        segment_rename(segment=segment, name=" ", user=marketer_user)
    with pytest.raises(NotAllowed, match="rename"):
        segment_rename(segment=segment, name="Mine", user=viewer_user)


@pytest.mark.django_db
def test_a_rename_in_the_admin_is_a_persons_name(admin_client):
    customer_groups_create({0: 20, 1: 20, 2: 20})
    segment = SegmentRunFactory(k=3).segments.first()
    url = f"/admin/segmentation/segment/{segment.pk}/change/"
    form = {
        "name": "Regulars", "color": segment.color, "strategy": segment.strategy,
        "strategy_source": segment.strategy_source, "strategy_edited_by": "",
        "strategy_edited_at_0": "", "strategy_edited_at_1": "",
    }  # fmt: skip
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    segment.refresh_from_db()
    assert (segment.name, segment.name_source) == ("Regulars", "person")
