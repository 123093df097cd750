"""Campaign services and selectors on the Mall data: pinning, re-pinning, archive, audit."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns import selectors, services
from campaigns.models import CampaignStatus
from core.exceptions import Conflict, DataError
from core.models import Activity
from segmentation.tests.factories import SegmentationFactory, SegmentRunFactory

pytestmark = [pytest.mark.django_db]


def test_create_validates(marketer_user, mall_run):
    seg = mall_run.segments.get(size=39)
    with pytest.raises(DataError, match=r"ends_on: must be on or after starts_on \(2026-05-10\); got 2026-05-01"):
        services.campaign_create(
            actor=marketer_user, name="x", segments=[seg], starts_on=dt.date(2026, 5, 10), ends_on=dt.date(2026, 5, 1)
        )
    with pytest.raises(DataError, match="channel: expected one of email, sms, ads, direct_mail, in_store; got 'fax'"):
        services.campaign_create(actor=marketer_user, name="x", segments=[seg], channel="fax")
    with pytest.raises(DataError, match="segments: a campaign targets at least one segment"):
        services.campaign_create(actor=marketer_user, name="x", segments=[])


def test_segments_must_share_a_run(marketer_user, mall_run, segmentation, mall_customers):
    other = SegmentRunFactory(segmentation=segmentation, k=3)
    with pytest.raises(DataError, match="same run"):
        services.campaign_create(
            actor=marketer_user, name="x", segments=[mall_run.segments.first(), other.segments.first()]
        )


def test_playbook_rule_gives_strategy(marketer_user, mall_run):
    from segmentation.models import PlaybookRule

    rule = PlaybookRule.objects.get(flags=["high_value"])
    c = services.campaign_create(
        actor=marketer_user, name="VIP", segments=[mall_run.segments.get(size=39)], playbook_rule=rule
    )
    assert c.strategy == rule.actions


def test_audience_stays_pinned_until_repinned(marketer_user, segmentation, mall_customers, mall_run):
    high = mall_run.segments.get(size=39)
    campaign = services.campaign_create(actor=marketer_user, name="VIP", segments=[high])
    services.campaign_schedule(actor=marketer_user, campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.pinned_run == mall_run
    assert campaign.status == CampaignStatus.SCHEDULED
    before = set(selectors.campaign_audience(campaign=campaign).values_list("customer__external_id", flat=True))
    assert len(before) == 39

    # Re-segment: the same groups (same lineage), but three customers of the high-value group move out
    # and one customer moves in (their values change before the new fit).
    leaving = sorted(before)[:3]
    for c in mall_customers:
        if c.external_id in leaving:
            c.spending_score = 40
            c.annual_income = 55
            c.save()
    newcomer = next(c for c in mall_customers if c.external_id not in before and c.annual_income < 40)
    newcomer.annual_income, newcomer.spending_score = 88, 85
    newcomer.save()
    newer = SegmentRunFactory(segmentation=segmentation, k=5)
    segmentation.refresh_from_db()
    assert segmentation.active_run == newer

    # The audience is unchanged until re-pinned.
    still = set(selectors.campaign_audience(campaign=campaign).values_list("customer__external_id", flat=True))
    assert still == before

    preview = selectors.campaign_repin_preview(campaign=campaign, run=newer)
    assert preview.unmatched == []
    assert preview.leaving_count == 3
    assert sorted(preview.leaving_examples) == leaving
    assert preview.entering_count == 1
    assert preview.entering_examples == [newcomer.external_id]
    assert preview.new_count == 37
    assert preview.staying_count == 36

    services.campaign_repin(actor=marketer_user, campaign=campaign, run=newer)
    campaign.refresh_from_db()
    assert campaign.pinned_run == newer
    assert [s.run_id for s in campaign.segments.all()] == [newer.pk]
    after = set(selectors.campaign_audience(campaign=campaign).values_list("customer__external_id", flat=True))
    assert after == (before - set(leaving)) | {newcomer.external_id}
    repin = Activity.objects.get(verb="campaign.repin")
    assert repin.before["pinned_run"] == mall_run.pk
    assert repin.after["pinned_run"] == newer.pk


def test_schedule_maps_draft_to_active_run(marketer_user, segmentation, mall_customers, mall_run):
    campaign = services.campaign_create(actor=marketer_user, name="VIP", segments=[mall_run.segments.get(size=39)])
    newer = SegmentRunFactory(segmentation=segmentation, k=5)
    services.campaign_schedule(actor=marketer_user, campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.pinned_run == newer
    assert campaign.segments.get().size == 39


def test_repin_without_matching_group_is_refused(marketer_user, segmentation, mall_customers, mall_run):
    campaign = services.campaign_create(actor=marketer_user, name="VIP", segments=[mall_run.segments.get(size=39)])
    services.campaign_schedule(actor=marketer_user, campaign=campaign)
    # A run of another segmentation: its groups have lineages of their own, none the campaign's.
    unrelated = SegmentRunFactory(segmentation=SegmentationFactory(name="Unrelated"), k=3)
    preview = selectors.campaign_repin_preview(campaign=campaign, run=unrelated)
    assert len(preview.unmatched) == 1
    with pytest.raises(Conflict, match=f"run {unrelated.pk} has no segment matching"):
        services.campaign_repin(actor=marketer_user, campaign=campaign, run=unrelated)


def test_status_transitions_and_archive(marketer_user, mall_run):
    c = services.campaign_create(actor=marketer_user, name="VIP", segments=[mall_run.segments.get(size=39)])
    with pytest.raises(Conflict, match="a draft campaign can become draft; got 'active'"):
        services.campaign_update(actor=marketer_user, campaign=c, status="active")
    services.campaign_schedule(actor=marketer_user, campaign=c)
    services.campaign_update(actor=marketer_user, campaign=c, status="active")
    services.campaign_archive(actor=marketer_user, campaign=c)
    with pytest.raises(Conflict, match="archived"):
        services.campaign_update(actor=marketer_user, campaign=c, name="y")
    verbs = list(
        Activity.objects.filter(object_type="campaigns.Campaign", object_id=str(c.pk))
        .order_by("id")
        .values_list("verb", flat=True)
    )
    assert verbs == ["campaign.create", "campaign.schedule", "campaign.update", "campaign.archive"]
    update = Activity.objects.get(verb="campaign.update", object_id=str(c.pk))
    assert (update.before["status"], update.after["status"]) == ("scheduled", "active")


def test_campaigns_for_segment_follows_lineage(marketer_user, segmentation, mall_customers, mall_run):
    high = mall_run.segments.get(size=39)
    c = services.campaign_create(actor=marketer_user, name="VIP", segments=[high])
    newer = SegmentRunFactory(segmentation=segmentation, k=5)
    assert list(selectors.campaigns_for_segment(segment=high)) == [c]
    assert list(selectors.campaigns_for_segment(segment=newer.segments.get(size=39))) == [c]
    assert list(selectors.campaigns_for_segment(segment=newer.segments.get(size=81))) == []


def test_history_pruning_keeps_runs_campaigns_use(marketer_user, segmentation, mall_customers, mall_run):
    from segmentation.models import SegmentRun
    from segmentation.services.housekeeping import runs_prune_history

    campaign = services.campaign_create(actor=marketer_user, name="VIP", segments=[mall_run.segments.get(size=39)])
    services.campaign_schedule(actor=marketer_user, campaign=campaign)
    unused = SegmentRunFactory(segmentation=segmentation, k=5, random_state=3)
    SegmentRunFactory(segmentation=segmentation, k=5, random_state=4)
    runs_prune_history(keep=1, segmentation=segmentation)
    assert SegmentRun.objects.filter(pk=mall_run.pk).exists()
    assert not SegmentRun.objects.filter(pk=unused.pk).exists()
    assert selectors.campaign_audience(campaign=campaign).count() == 39


def _pinned_runs(campaign) -> set[int]:
    from segmentation.models import RunPin

    return set(RunPin.objects.filter(holder=f"campaign:{campaign.pk}").values_list("run_id", flat=True))


def test_campaigns_pin_the_runs_their_audience_reads(marketer_user, segmentation, mall_customers, mall_run):
    from segmentation.services.housekeeping import runs_prune_history

    draft = services.campaign_create(actor=marketer_user, name="Draft", segments=[mall_run.segments.get(size=39)])
    assert _pinned_runs(draft) == {mall_run.pk}  # a draft holds the run of its segments
    SegmentRunFactory(segmentation=segmentation, k=5, random_state=4)  # active, then replaced by the next run
    newer = SegmentRunFactory(segmentation=segmentation, k=5, random_state=3)
    assert runs_prune_history(keep=0, segmentation=segmentation) == 1  # only the unpinned, inactive run
    assert _pinned_runs(draft) == {mall_run.pk}

    services.campaign_repin(actor=marketer_user, campaign=draft, run=newer)
    assert _pinned_runs(draft) == {newer.pk}  # re-pinning moves the pin
    services.campaign_archive(actor=marketer_user, campaign=draft)
    assert _pinned_runs(draft) == {newer.pk}  # an archived campaign's audience stays readable
    assert runs_prune_history(keep=0, segmentation=segmentation) == 1  # the old run, released by the re-pin
