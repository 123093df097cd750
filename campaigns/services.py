"""Writes: campaigns (create, update, schedule, re-pin, archive) and static audiences, all audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from celery import current_app
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from campaigns.columns import export_columns_validate
from campaigns.models import Audience, AudienceMember, AudienceStatus, Campaign, CampaignStatus, Channel
from campaigns.selectors import segments_map_to_run
from core.exceptions import Conflict, DataError
from core.services import activity_record
from customers.selectors.customers import customer_list, customer_query_parse
from segmentation.models import PlaybookRule, RunPin, Segment, SegmentRun

EDITABLE_FIELDS = (
    "name", "goal", "channel", "offer", "starts_on", "ends_on", "strategy", "playbook_rule", "export_columns",
)  # fmt: skip

# Allowed status changes through campaign_update (scheduling and archiving have their own services).
_TRANSITIONS = {
    CampaignStatus.DRAFT: {CampaignStatus.DRAFT},
    CampaignStatus.SCHEDULED: {CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE, CampaignStatus.FINISHED},
    CampaignStatus.ACTIVE: {CampaignStatus.ACTIVE, CampaignStatus.FINISHED},
    CampaignStatus.FINISHED: {CampaignStatus.FINISHED},
    CampaignStatus.ARCHIVED: {CampaignStatus.ARCHIVED},
}


def campaign_state(campaign: Campaign) -> dict[str, Any]:
    """The audited state of a campaign."""
    return {
        "name": campaign.name,
        "goal": campaign.goal,
        "channel": campaign.channel,
        "offer": campaign.offer,
        "starts_on": campaign.starts_on.isoformat() if campaign.starts_on else None,
        "ends_on": campaign.ends_on.isoformat() if campaign.ends_on else None,
        "status": campaign.status,
        "strategy": campaign.strategy,
        "playbook_rule": campaign.playbook_rule_id,
        "pinned_run": campaign.pinned_run_id,
        "segments": sorted(campaign.segments.values_list("pk", flat=True)) if campaign.pk else [],
        "audience": campaign.audience_id,
        "export_columns": list(campaign.export_columns or []),
    }


def _validate(*, name: str, channel: str, starts_on: dt.date | None, ends_on: dt.date | None) -> None:
    if not name or not name.strip():
        raise DataError("name: a campaign needs a name; got an empty value")
    if channel not in Channel.values:
        raise DataError(f"channel: expected one of {', '.join(Channel.values)}; got {channel!r}")
    if starts_on and ends_on and ends_on < starts_on:
        raise DataError(f"ends_on: must be on or after starts_on ({starts_on.isoformat()}); got {ends_on.isoformat()}")


def campaign_pin_holder(campaign: Campaign) -> str:
    """How a campaign names itself on the runs it pins (`segmentation.RunPin.holder`)."""
    return f"campaign:{campaign.pk}"


def _pins_sync(campaign: Campaign) -> None:
    """Pin the runs the campaign's audience reads (its pinned run, its segments' run) and release the others.

    History pruning keeps pinned runs. An archived campaign keeps its pins: its audience stays readable.
    """
    runs = set(campaign.segments.values_list("run_id", flat=True))
    if campaign.pinned_run_id:
        runs.add(campaign.pinned_run_id)
    holder = campaign_pin_holder(campaign)
    RunPin.objects.filter(holder=holder).exclude(run_id__in=runs).delete()
    RunPin.objects.bulk_create([RunPin(run_id=run_id, holder=holder) for run_id in sorted(runs)], ignore_conflicts=True)


def _export_columns_checked(columns: Any) -> list[str]:
    """[] (the default columns) or names checked against campaigns.columns (errors name the unknown ones)."""
    if columns in (None, [], ""):
        return []
    return export_columns_validate(columns, parameter="export_columns")


def _target_checked(segments: Iterable[Segment], audience: Audience | None) -> list[Segment]:
    """A campaign targets segments of one run OR one static audience."""
    segments = list(segments)
    if audience is not None and segments:
        raise DataError(
            f"segments: a campaign targets segments or a static audience, not both; got {len(segments)} "
            f"segment(s) and audience {audience.pk}"
        )
    if audience is not None:
        if audience.status != AudienceStatus.READY:
            raise DataError(
                f"audience: {audience.name!r} (id {audience.pk}) is {audience.get_status_display().lower()}; "
                "a campaign can target it once it is ready"
            )
        return []
    return _segments_checked(segments)


def _segments_checked(segments: Iterable[Segment]) -> list[Segment]:
    segments = list(segments)
    if not segments:
        raise DataError("segments: a campaign targets at least one segment (or a static audience); got none")
    runs = {s.run_id for s in segments}
    if len(runs) > 1:
        raise DataError(
            f"segments: all segments must come from the same run; got segments of runs "
            f"{', '.join(map(str, sorted(runs)))}"
        )
    return segments


@transaction.atomic
def campaign_create(
    *,
    actor: Any,
    name: str,
    segments: Iterable[Segment] = (),
    audience: Audience | None = None,
    export_columns: list[str] | None = None,
    goal: str = "",
    channel: str = Channel.EMAIL,
    offer: str = "",
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    strategy: str = "",
    playbook_rule: PlaybookRule | None = None,
) -> Campaign:
    """Create a draft campaign on segments of one run or on a static audience. Without strategy text, a chosen
    rule's actions are used."""
    _validate(name=name, channel=channel, starts_on=starts_on, ends_on=ends_on)
    segments = _target_checked(segments, audience)
    export_columns = _export_columns_checked(export_columns)
    if not strategy and playbook_rule is not None:
        strategy = playbook_rule.actions
    campaign = Campaign.objects.create(
        name=name.strip(),
        goal=goal,
        channel=channel,
        offer=offer,
        starts_on=starts_on,
        ends_on=ends_on,
        strategy=strategy,
        playbook_rule=playbook_rule,
        audience=audience,
        export_columns=export_columns,
        owner=actor if getattr(actor, "is_authenticated", False) else None,
    )
    campaign.segments.set(segments)
    _pins_sync(campaign)
    activity_record(actor=actor, verb="campaign.create", obj=campaign, after=campaign_state(campaign))
    return campaign


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


@transaction.atomic
def campaign_update(
    *,
    actor: Any,
    campaign: Campaign,
    segments: Iterable[Segment] | None = None,
    status: str | None = None,
    **fields: Any,
) -> Campaign:
    """Change a campaign's fields (EDITABLE_FIELDS), its segments (same run as pinned) or its status."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise DataError(f"fields: may change {', '.join(EDITABLE_FIELDS)}; got {', '.join(sorted(unknown))}")
    campaign = _locked(campaign)
    if campaign.status == CampaignStatus.ARCHIVED:
        raise Conflict(f"campaign {campaign.pk} is archived; archived campaigns cannot be changed")
    if "export_columns" in fields:
        fields["export_columns"] = _export_columns_checked(fields["export_columns"])
    before = campaign_state(campaign)
    for key, value in fields.items():
        setattr(campaign, key, value)
    _validate(name=campaign.name, channel=campaign.channel, starts_on=campaign.starts_on, ends_on=campaign.ends_on)
    if status is not None and status != campaign.status:
        allowed = _TRANSITIONS.get(campaign.status, set())
        if status not in allowed:
            raise Conflict(
                f"status: a {campaign.status} campaign can become {', '.join(sorted(allowed))}; got {status!r}"
                " (use schedule to pin a run, archive to archive)"
            )
        campaign.status = status
    campaign.name = campaign.name.strip()
    campaign.save()
    if segments is not None and campaign.audience_id:
        if list(segments):
            raise DataError(
                f"segments: campaign {campaign.pk} targets the static audience {campaign.audience_id}; "
                "it cannot also target segments"
            )
        segments = None
    if segments is not None:
        segments = _segments_checked(segments)
        if campaign.pinned_run_id and segments[0].run_id != campaign.pinned_run_id:
            raise DataError(
                f"segments: the campaign is pinned to run {campaign.pinned_run_id}; got segments of "
                f"run {segments[0].run_id}"
                " (re-pin the campaign to change run)"
            )
        campaign.segments.set(segments)
        _pins_sync(campaign)
    after = campaign_state(campaign)
    if after != before:
        activity_record(actor=actor, verb="campaign.update", obj=campaign, before=before, after=after)
    return campaign


def _repin(campaign: Campaign, run: SegmentRun) -> dict[str, Any]:
    segments = list(campaign.segments.all())
    mapping, new_segments = segments_map_to_run(segments=segments, run=run)
    unmatched = [s for s in segments if mapping[s.pk] is None]
    if unmatched:
        names = ", ".join(f"{s.name!r} (id {s.pk})" for s in unmatched)
        raise Conflict(f"run {run.pk} has no segment matching {names}; edit the campaign's segments instead")
    campaign.segments.set(new_segments)
    campaign.pinned_run = run
    campaign.pinned_at = timezone.now()
    return {str(old): new.pk for old, new in mapping.items() if new is not None}


@transaction.atomic
def campaign_schedule(*, actor: Any, campaign: Campaign) -> Campaign:
    """Schedule a draft: pin its audience to the run active now (segments mapped through their lineage)."""
    campaign = _locked(campaign)
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(f"status: only a draft campaign can be scheduled; campaign {campaign.pk} is {campaign.status}")
    if campaign.audience_id:  # a static audience is fixed already: nothing to pin
        before = campaign_state(campaign)
        campaign.status = CampaignStatus.SCHEDULED
        campaign.save(update_fields=["status", "updated_at"])
        activity_record(
            actor=actor, verb="campaign.schedule", obj=campaign, before=before, after=campaign_state(campaign)
        )
        return campaign
    first = campaign.segments.select_related("run__segmentation__active_run").first()
    if first is None:
        raise DataError("segments: a campaign targets at least one segment; got none")
    run = first.run.segmentation.active_run or first.run
    return _pin_and_record(
        actor=actor, campaign=campaign, run=run, verb="campaign.schedule", status=CampaignStatus.SCHEDULED
    )


@transaction.atomic
def campaign_repin(*, actor: Any, campaign: Campaign, run: SegmentRun) -> Campaign:
    """Pin the campaign to a newer run: each segment becomes the same group (lineage) in that run."""
    campaign = _locked(campaign)
    if campaign.status == CampaignStatus.ARCHIVED:
        raise Conflict(f"campaign {campaign.pk} is archived; archived campaigns cannot be re-pinned")
    if campaign.audience_id:
        raise Conflict(f"campaign {campaign.pk} targets a static audience; only segment campaigns follow runs")
    if run.status != "succeeded":
        raise Conflict(f"run {run.pk} is {run.status}; only a succeeded run can be pinned")
    return _pin_and_record(actor=actor, campaign=campaign, run=run, verb="campaign.repin")


def _pin_and_record(
    *, actor: Any, campaign: Campaign, run: SegmentRun, verb: str, status: str | None = None
) -> Campaign:
    """Pin `campaign` to `run` (segments mapped by lineage), optionally set its status, and audit it."""
    before = campaign_state(campaign)
    mapping = _repin(campaign, run)
    if status is not None:
        campaign.status = status
    campaign.save()
    _pins_sync(campaign)
    activity_record(
        actor=actor,
        verb=verb,
        obj=campaign,
        before=before,
        after=campaign_state(campaign),
        detail={"run": run.pk, "segments": mapping},
    )
    return campaign


@transaction.atomic
def campaign_archive(*, actor: Any, campaign: Campaign) -> Campaign:
    """Archive a campaign (campaigns are never deleted). Archiving twice is a no-op."""
    campaign = _locked(campaign)
    if campaign.status == CampaignStatus.ARCHIVED:
        return campaign
    before = campaign_state(campaign)
    campaign.status = CampaignStatus.ARCHIVED
    campaign.save(update_fields=["status", "updated_at"])
    activity_record(actor=actor, verb="campaign.archive", obj=campaign, before=before, after=campaign_state(campaign))
    return campaign


def campaign_export_record(
    *,
    actor: Any,
    campaign: Campaign,
    rows: int,
    format: str,
    complete: bool = True,
    columns: list[str] | None = None,
) -> None:
    """Audit one audience export: who, when (the entry's time), which campaign, run or static audience,
    which columns, how many rows."""
    detail: dict[str, Any] = {
        "campaign": campaign.pk,
        "run": campaign.pinned_run_id or campaign.segments.values_list("run_id", flat=True).first(),
        "rows": rows,
        "format": format,
        "complete": complete,
    }
    if campaign.audience_id:
        detail["audience"] = campaign.audience_id
    if columns is not None:
        detail["columns"] = list(columns)
    activity_record(actor=actor, verb="campaign.export", obj=campaign, detail=detail)


#: Lists up to this many customers are saved inside the request (well under a second); larger ones by a task.
AUDIENCE_INLINE_MAX = 50_000
#: The Celery task that fills a large audience (campaigns.tasks), sent by name as runs are.
AUDIENCE_FILL_TASK = "campaigns.audience_fill"


@transaction.atomic
def audience_create(
    *,
    actor: Any,
    name: str,
    filters: dict[str, str],
    description: str,
    expected_size: int | None = None,
) -> Audience:
    """Save the customers matching `filters` (the customer list's parameters) as a static audience.

    Up to AUDIENCE_INLINE_MAX expected customers the members are written now; above, the audience is a
    queued row and `campaigns.audience_fill` (Celery) writes them after commit.
    """
    if not name or not name.strip():
        raise DataError("name: an audience needs a name; got an empty value")
    audience = Audience.objects.create(
        name=name.strip()[:200],
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        filters=filters,
        description=description,
    )
    activity_record(
        actor=actor,
        verb="audience.create",
        obj=audience,
        after={"name": audience.name, "filters": filters, "description": description},
    )
    if expected_size is not None and expected_size <= AUDIENCE_INLINE_MAX:
        audience_fill(audience_id=audience.pk)
        audience.refresh_from_db()
    else:
        audience_id = audience.pk
        transaction.on_commit(lambda: current_app.send_task(AUDIENCE_FILL_TASK, args=[audience_id]))
    return audience


def audience_fill(*, audience_id: int) -> str:
    """Write a queued audience's members: claim it (one conditional UPDATE), then one INSERT ... SELECT over
    the customer list's own query (set-based: no customer travels through Python). Safe to run twice."""
    claimed = Audience.objects.filter(pk=audience_id, status=AudienceStatus.QUEUED).update(
        status=AudienceStatus.RUNNING
    )
    if not claimed:
        return "skipped"
    audience = Audience.objects.get(pk=audience_id)
    try:
        with transaction.atomic():
            size = _members_insert(audience)
            Audience.objects.filter(pk=audience_id).update(status=AudienceStatus.READY, size=size, error="")
    except (OperationalError, InterfaceError):  # transient: queued again for the task's retry
        Audience.objects.filter(pk=audience_id).update(status=AudienceStatus.QUEUED)
        raise
    except DatabaseError as exc:
        Audience.objects.filter(pk=audience_id).update(status=AudienceStatus.FAILED, error=str(exc)[:2000])
        raise
    return "ready"


def _members_insert(audience: Audience) -> int:
    query = customer_query_parse(params=audience.filters)
    select_sql, params = (
        customer_list(query=query)
        .order_by()
        .annotate(picked_id=F("pk"))
        .values_list("picked_id")
        .query.sql_with_params()
    )
    table = connection.ops.quote_name(AudienceMember._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (audience_id, customer_id) SELECT %s, picked.picked_id FROM ({select_sql}) picked",  # noqa: S608 - names quoted by Django, values bound
            [audience.pk, *params],
        )
        return cursor.rowcount
