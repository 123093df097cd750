"""The campaigns app's activity entries in words (discovered by core at start: `core.activity`)."""

from __future__ import annotations

from collections.abc import Mapping

from campaigns.models import Campaign
from core.activity import activity_object_namer_register, activity_verb_register

for verb, label, sentence in (
    ("campaign.create", "Campaign created", "{actor} created {object}"),
    ("audience.create", "Audience saved", "{actor} saved the audience “{after_name}” from the customer list"),
    ("campaign.update", "Campaign changed", "{actor} changed {object}"),
    ("campaign.schedule", "Campaign scheduled", "{actor} scheduled {object} on run #{run}"),
    ("campaign.repin", "Campaign moved to a run", "{actor} moved {object} to run #{run}"),
    ("campaign.archive", "Campaign archived", "{actor} archived {object}"),
    ("campaign.export", "Audience exported", "{actor} exported {rows} customers of {object} ({format})"),
):
    activity_verb_register(verb, label=label, sentence=sentence)


def campaign_names(ids: list[str]) -> Mapping[str, str]:
    """'campaign “Spring offer”' per campaign id."""
    rows = Campaign.objects.filter(pk__in=[int(i) for i in ids if i.isdigit()]).values_list("pk", "name")
    return {str(pk): f"campaign “{name}”" for pk, name in rows}


activity_object_namer_register(Campaign._meta.label, campaign_names)
