"""With the real import, engine and run service: the playbook drives strategies, campaigns export them."""

from __future__ import annotations

import csv
import io

import pytest

from campaigns import selectors as campaign_selectors
from campaigns import services as campaign_services
from campaigns.tests.conftest import token_client
from core.models import Activity
from customers.imports.service import customer_import
from segmentation.models import PlaybookRule
from segmentation.services import claims, config, runs
from segmentation.services.strategies import playbook_rule_update

pytestmark = [pytest.mark.django_db, pytest.mark.datasets]


def _run(segmentation):
    run = runs.run_request(segmentation=segmentation, requested_by=None, trigger="manual", enqueue=False)
    assert runs.run_execute(run_id=run.pk, worker="test:1") == claims.SUCCEEDED
    run.refresh_from_db()
    return run


def test_mall_run_strategies_campaign_and_export(mall_csv, admin_user, marketer_user):
    customer_import(file=mall_csv, user=admin_user)
    segmentation = config.segmentation_get_or_create_default()
    run = _run(segmentation)
    segments = {s.size: s for s in run.segments.all()}
    assert sorted(segments) == [22, 23, 35, 39, 81]
    high = segments[39]
    assert "high_value" in high.flags
    vip_rule = PlaybookRule.objects.get(flags=["high_value"])
    assert high.strategy == vip_rule.actions
    assert high.strategy_source == "playbook"
    assert segments[35].strategy == PlaybookRule.objects.get(flags=["upsell"]).actions

    # An Admin edits the playbook: the next run's high-value segment gets the new text.
    playbook_rule_update(actor=admin_user, rule=vip_rule, actions="VIP evening and early access.")
    assert Activity.objects.filter(verb="playbook.update", actor=admin_user).exists()

    campaign = campaign_services.campaign_create(actor=marketer_user, name="VIP", segments=[high])
    campaign_services.campaign_schedule(actor=marketer_user, campaign=campaign)
    response = token_client(marketer_user).get(f"/api/campaigns/{campaign.pk}/audience/?format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 39
    assert {r["segment_name"] for r in rows} == {high.name}
    assert {r["strategy"] for r in rows} == {high.strategy}

    newer = _run(segmentation)
    new_high = newer.segments.get(size=39)
    assert new_high.lineage == high.lineage
    assert new_high.strategy_source == "playbook"
    assert new_high.strategy == "VIP evening and early access."
    # The campaign keeps its audience (pinned run) until re-pinned.
    campaign.refresh_from_db()
    assert campaign.pinned_run == run
    preview = campaign_selectors.campaign_repin_preview(campaign=campaign, run=newer)
    assert preview.unmatched == []
    assert (preview.entering_count, preview.leaving_count, preview.new_count) == (0, 0, 39)
    campaign_services.campaign_repin(actor=marketer_user, campaign=campaign, run=newer)
    campaign.refresh_from_db()
    assert list(campaign.segments.all()) == [new_high]


def test_activity_page_shows_export_playbook_and_strategy_edits(mall_csv, admin_user, marketer_user, client):
    from segmentation.services.strategies import segment_strategy_update

    customer_import(file=mall_csv, user=admin_user)
    run = _run(config.segmentation_get_or_create_default())
    high = run.segments.get(size=39)
    segment_strategy_update(segment=high, strategy="Hand-written VIP plan", user=marketer_user)
    rule = PlaybookRule.objects.get(flags=["upsell"])
    playbook_rule_update(actor=admin_user, rule=rule, actions="Premium preview night.")
    campaign = campaign_services.campaign_create(actor=marketer_user, name="VIP", segments=[high])
    response = token_client(marketer_user).get(f"/api/campaigns/{campaign.pk}/audience/?format=csv")
    b"".join(response.streaming_content)

    client.force_login(admin_user)
    html = client.get("/activity/").content.decode()
    assert f"{marketer_user.username} exported 39 customers of campaign “VIP” (csv)" in html  # a sentence
    assert "Rows: 39" in html and f"Run: {run.pk}" in html
    assert "playbook.update" in html and "Premium preview night." in html
    assert "segment.strategy_edited" in html and "Hand-written VIP plan" in html
    exports = client.get("/activity/?verb=campaign.export").content.decode()
    assert exports.count('class="activity-row"') == 1
    assert marketer_user.username in exports
