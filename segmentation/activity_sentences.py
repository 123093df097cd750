"""The segmentation app's activity entries in words (discovered by core at start: `core.activity`)."""

from __future__ import annotations

from collections.abc import Mapping

from core.activity import activity_object_namer_register, activity_verb_register
from segmentation.models import Segment, SegmentRun

for verb, label, sentence in (
    ("segmentation.run_requested", "Run requested", "{actor} asked for {object}"),
    ("segmentation.created", "Segmentation created", "{actor} created the segmentation “{object}”"),
    ("segmentation.changed", "Segmentation changed", "{actor} changed the segmentation “{object}”"),
    ("segmentation.run_activated", "Run activated", "{actor} activated {object} ({after_k} segments)"),
    ("segmentation.run_failed", "Run failed", "{object} failed at stage “{stage}”: {error}"),
    ("segment.strategy_edited", "Strategy edited", "{actor} edited the strategy of {object}"),
    ("segment.renamed", "Segment renamed", "{actor} renamed segment “{before_name}” to “{after_name}”"),
    ("playbook.create", "Playbook rule added", "{actor} added the playbook rule “{object}”"),
    ("playbook.update", "Playbook rule changed", "{actor} changed the playbook rule “{object}”"),
    ("segment.members_exported", "Members exported", "{actor} exported the members of {object} ({rows} rows)"),
    ("segmentation.moves_exported", "Movers exported", "{actor} exported the movers into {object} ({rows} rows)"),
):
    activity_verb_register(verb, label=label, sentence=sentence)


def run_names(ids: list[str]) -> Mapping[str, str]:
    """'run #4 of “Behaviour”' per run id."""
    rows = SegmentRun.objects.filter(pk__in=[int(i) for i in ids if i.isdigit()]).values_list(
        "pk", "segmentation__name"
    )
    return {str(pk): f"run #{pk} of “{name}”" for pk, name in rows}


def segment_names(ids: list[str]) -> Mapping[str, str]:
    """'segment “Careful savers” of run #4 of “Behaviour”' per segment id."""
    rows = Segment.objects.filter(pk__in=[int(i) for i in ids if i.isdigit()]).values_list(
        "pk", "name", "run_id", "run__segmentation__name"
    )
    return {str(pk): f"segment “{name}” of run #{run} of “{seg}”" for pk, name, run, seg in rows}


activity_object_namer_register(SegmentRun._meta.label, run_names)
activity_object_namer_register(Segment._meta.label, segment_names)
