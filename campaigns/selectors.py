"""Reads: campaigns, their audiences and re-pin previews."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform

from campaigns.models import Audience, AudienceMember, Campaign, CampaignStatus
from segmentation.ml.fields import CANONICAL_FIELDS
from segmentation.models import Membership, Segment, SegmentRun

# The audience export's fixed columns, in order (documented in the API schema).
AUDIENCE_COLUMNS: tuple[str, ...] = (
    "external_id",
    "segment_label",
    "segment_name",
    "run_id",
    "gender",
    "age",
    "annual_income",
    "spending_score",
    "strategy",
    "campaign_id",
)
_AUDIENCE_CUSTOMER_FIELDS = (
    "customer__external_id",
    "segment_id",
    "customer__gender",
    "customer__age",
    "customer__annual_income",
    "customer__spending_score",
)


def campaign_list(*, include_archived: bool = False, status: str | None = None) -> QuerySet[Campaign]:
    qs = Campaign.objects.select_related("owner", "pinned_run", "audience").prefetch_related("segments")
    if status:
        qs = qs.filter(status=status)
    elif not include_archived:
        qs = qs.exclude(status=CampaignStatus.ARCHIVED)
    return qs


def campaign_audience(*, campaign: Campaign) -> QuerySet[Membership]:
    """The memberships of the campaign's segments (all in one run: the pinned run once scheduled)."""
    segment_ids = list(campaign.segments.values_list("pk", flat=True))
    qs = Membership.objects.filter(segment_id__in=segment_ids)
    if campaign.pinned_run_id:
        qs = qs.filter(run_id=campaign.pinned_run_id)
    return qs


def campaign_audience_counts(*, campaign: Campaign) -> dict[str, Any]:
    """Audience size in total and per segment (a static audience: its member count, no segments)."""
    if campaign.audience_id:
        return {"total": AudienceMember.objects.filter(audience_id=campaign.audience_id).count(), "segments": []}
    segments = list(campaign.segments.order_by("label"))
    per_segment = {s.pk: 0 for s in segments}
    for row in campaign_audience(campaign=campaign).values("segment_id").annotate(n=Count("customer_id")):
        per_segment[row["segment_id"]] = row["n"]
    return {
        "total": sum(per_segment.values()),
        "segments": [{"segment": s, "count": per_segment.get(s.pk, 0)} for s in segments],
    }


def campaign_audience_segments(*, campaign: Campaign) -> dict[int, tuple[int, str, int, str]]:
    """Per segment id of the campaign: (label, name, run id, strategy) as exported.

    `strategy` is the campaign's strategy when it has one, else the segment's strategy.
    """
    return {s.pk: (s.label, s.name, s.run_id, campaign.strategy or s.strategy) for s in campaign.segments.all()}


def campaign_audience_features(*, campaign: Campaign) -> list[str]:
    """The run's own attribute features (not canonical fields), exported after AUDIENCE_COLUMNS in that order."""
    run_id = campaign.pinned_run_id or campaign.segments.values_list("run_id", flat=True).first()
    params = SegmentRun.objects.filter(pk=run_id).values_list("params", flat=True).first() or {}
    return [str(f) for f in params.get("features") or [] if f not in CANONICAL_FIELDS and f not in AUDIENCE_COLUMNS]


def campaign_export_rows(*, campaign: Campaign, columns: list[Any], chunk_size: int = 5000) -> Iterator[tuple]:
    """(group id, *values of the customer columns) per member, from a server-side cursor.

    `columns` are the customer-source `campaigns.columns.ExportColumn`s; the group is the member's segment
    (segment campaigns) or the static audience. One SELECT, set-based; attributes are read from the JSON
    column by key.
    """
    if campaign.audience_id:
        qs: QuerySet = AudienceMember.objects.filter(audience_id=campaign.audience_id)
        group = "audience_id"
    else:
        qs = campaign_audience(campaign=campaign)
        group = "segment_id"
    annotations: dict[str, Any] = {}
    names: list[str] = []
    for i, column in enumerate(columns):
        if column.attribute:
            annotations[f"c{i}"] = KeyTextTransform(column.attribute, "customer__attributes")
            names.append(f"c{i}")
        elif column.expression is not None:
            annotations[f"c{i}"] = column.expression("customer__")
            names.append(f"c{i}")
        else:
            names.append(f"customer__{column.path}")
    return qs.annotate(**annotations).values_list(group, *names).iterator(chunk_size=chunk_size)


def campaign_export_groups(*, campaign: Campaign) -> dict[int, dict[str, Any]]:
    """Per group id (segment or static audience): the values of the group columns."""
    if campaign.audience_id:
        audience = campaign.audience
        return {
            audience.pk: {
                "segment_name": None,
                "segment_label": None,
                "run_id": None,
                "audience_name": audience.name,
                "strategy": campaign.strategy,
            }
        }
    return {
        s.pk: {
            "segment_name": s.name,
            "segment_label": s.label,
            "run_id": s.run_id,
            "audience_name": None,
            "strategy": campaign.strategy or s.strategy,
        }
        for s in campaign.segments.all()
    }


def campaign_export_values(*, campaign: Campaign) -> dict[str, Any]:
    """The values of the campaign columns."""
    return {
        "campaign_id": campaign.pk,
        "campaign_name": campaign.name,
        "channel": campaign.channel,
        "offer": campaign.offer,
    }


def audience_list() -> QuerySet[Audience]:
    return Audience.objects.select_related("created_by")


def audience_page_queryset(*, campaign: Campaign) -> QuerySet[AudienceMember]:
    """A static audience's members for JSON pages, with the customer loaded."""
    return AudienceMember.objects.filter(audience_id=campaign.audience_id).select_related("customer", "audience")


def campaign_audience_columns(*, campaign: Campaign) -> tuple[str, ...]:
    """Every exported column: the fixed AUDIENCE_COLUMNS, then the run's attribute features."""
    return AUDIENCE_COLUMNS + tuple(campaign_audience_features(campaign=campaign))


def audience_number(value: Any) -> Any:
    """An attribute value as exported: a number (58138, 12.5) whatever the database returned, else as stored."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def campaign_audience_customer_rows(
    *, campaign: Campaign, chunk_size: int = 5000, features: list[str] | None = None
) -> Iterator[tuple]:
    """(external_id, segment id, gender, age, annual_income, spending_score, *features) per member, from a
    server-side cursor; `features` are attribute keys (`campaign_audience_features`).

    Only the customer's columns travel per row; segment columns come from `campaign_audience_segments`.
    """
    extra = {f"attr__{i}": KeyTextTransform(key, "customer__attributes") for i, key in enumerate(features or [])}
    qs = campaign_audience(campaign=campaign).annotate(**extra).values_list(*_AUDIENCE_CUSTOMER_FIELDS, *extra)
    return qs.iterator(chunk_size=chunk_size)


def campaign_audience_rows(
    *, campaign: Campaign, text: Callable[[Any], Any] = lambda v: v, chunk_size: int = 5000
) -> Iterator[tuple]:
    """The audience as tuples in `campaign_audience_columns` order; `text` is applied to every text cell."""
    cid = campaign.pk
    per_segment = {
        pk: (label, text(name), run_id, text(strategy))
        for pk, (label, name, run_id, strategy) in campaign_audience_segments(campaign=campaign).items()
    }
    features = campaign_audience_features(campaign=campaign)
    for ext, segment_id, gender, age, income, score, *extra in campaign_audience_customer_rows(
        campaign=campaign, chunk_size=chunk_size, features=features
    ):
        label, name, run_id, strategy = per_segment[segment_id]
        yield (
            text(ext), label, name, run_id, text(gender), age, income, score, strategy, cid,
            *(audience_number(v) for v in extra),
        )  # fmt: skip


def audience_row_dict(row: tuple) -> dict[str, Any]:
    return dict(zip(AUDIENCE_COLUMNS, row[: len(AUDIENCE_COLUMNS)], strict=True))


def campaign_audience_page_queryset(*, campaign: Campaign) -> QuerySet[Membership]:
    """The audience for JSON pages: memberships with customer and segment loaded."""
    return campaign_audience(campaign=campaign).select_related("customer", "segment")


def segments_map_to_run(*, segments: list[Segment], run: SegmentRun) -> tuple[dict[int, Segment | None], list[Segment]]:
    """Map each segment to the segment of `run` with the same lineage (or, without lineage, the same name).

    Returns ({old segment id: new segment or None}, the list of new segments, deduplicated).
    """
    targets = list(run.segments.all())
    by_lineage = {s.lineage: s for s in targets if s.lineage}
    by_name = {s.name: s for s in targets}
    mapping: dict[int, Segment | None] = {}
    new: list[Segment] = []
    for seg in segments:
        if seg.run_id == run.pk:
            match = seg
        elif seg.lineage:
            match = by_lineage.get(seg.lineage)
        else:
            match = by_name.get(seg.name)
        mapping[seg.pk] = match
        if match is not None and match not in new:
            new.append(match)
    return mapping, new


@dataclass
class RepinPreview:
    run: SegmentRun
    mapping: list[tuple[Segment, Segment | None]]
    unmatched: list[Segment]
    current_count: int
    new_count: int
    entering_count: int
    leaving_count: int
    staying_count: int
    entering_examples: list[str] = field(default_factory=list)
    leaving_examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.pk,
            "segments": [
                {
                    "from": old.pk,
                    "from_name": old.name,
                    "to": new.pk if new else None,
                    "to_name": new.name if new else None,
                }
                for old, new in self.mapping
            ],
            "unmatched": [s.pk for s in self.unmatched],
            "current_count": self.current_count,
            "new_count": self.new_count,
            "entering_count": self.entering_count,
            "leaving_count": self.leaving_count,
            "staying_count": self.staying_count,
            "entering_examples": self.entering_examples,
            "leaving_examples": self.leaving_examples,
        }


def campaign_repin_preview(*, campaign: Campaign, run: SegmentRun, examples: int = 10) -> RepinPreview:
    """Who would enter and who would leave the audience if the campaign were re-pinned to `run`."""
    segments = list(campaign.segments.order_by("label"))
    mapping, new_segments = segments_map_to_run(segments=segments, run=run)
    current = campaign_audience(campaign=campaign)
    new = Membership.objects.filter(run=run, segment__in=new_segments)
    # NOT EXISTS (an anti-join) rather than NOT IN: it stays linear on a million members.
    entering = new.filter(~Exists(current.filter(customer_id=OuterRef("customer_id"))))
    leaving = current.filter(~Exists(new.filter(customer_id=OuterRef("customer_id"))))
    current_count = current.count()
    new_count = new.count()
    entering_count = entering.count()
    leaving_count = current_count - (new_count - entering_count)  # one membership per customer and run
    return RepinPreview(
        run=run,
        mapping=[(s, mapping[s.pk]) for s in segments],
        unmatched=[s for s in segments if mapping[s.pk] is None],
        current_count=current_count,
        new_count=new_count,
        entering_count=entering_count,
        leaving_count=leaving_count,
        staying_count=new_count - entering_count,
        entering_examples=list(
            entering.order_by("customer__external_id").values_list("customer__external_id", flat=True)[:examples]
        ),
        leaving_examples=list(
            leaving.order_by("customer__external_id").values_list("customer__external_id", flat=True)[:examples]
        ),
    )


def campaigns_for_segment(*, segment: Segment) -> QuerySet[Campaign]:
    """Campaigns that use this segment or the same group (lineage) in another run."""
    cond = Q(segments=segment)
    if segment.lineage:
        cond |= Q(segments__lineage=segment.lineage)
    return Campaign.objects.filter(cond).exclude(status=CampaignStatus.ARCHIVED).distinct().order_by("-created_at")


def active_run_for(*, run: SegmentRun) -> SegmentRun | None:
    """The active run of the segmentation `run` belongs to."""
    return run.segmentation.active_run
