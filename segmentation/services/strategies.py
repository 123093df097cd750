"""Strategies: the playbook's text for a new segment, a marketer's edit of it (and of the segment's name),
and edits of the playbook's rules."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from core.exceptions import DataError, NotAllowed
from core.services import activity_record
from segmentation.ml.types import SegmentProfile
from segmentation.models import NameSource, PlaybookRule, Segment
from segmentation.playbook import conditions_validate, flags_validate, playbook_rule_for, rule_as_dict

STRATEGY_MAX_CHARS = 5000
NAME_MAX_CHARS = 120


def strategy_for_segment(profile: SegmentProfile) -> str:
    """The strategy text for a freshly fitted segment.

    The first matching rule of the playbook (`PlaybookRule`, by priority) gives the actions;
    when no rule matches, the engine's own rule-table text is kept.
    """
    rule = playbook_rule_for(flags=profile.flags, stats=profile.stats)
    if rule is None:
        return profile.strategy
    return rule.actions


def segment_strategy_update(*, segment: Segment, strategy: str, user: AbstractBaseUser) -> Segment:
    """Set an edited strategy (source "override"), record who and when, and audit before/after."""
    if not user.has_perm("segmentation.edit_strategy"):
        raise NotAllowed("Only Marketers and Admins may edit a segment's strategy.")
    strategy = (strategy or "").strip()
    if not strategy:
        raise DataError("strategy: must not be empty; got ''")
    if len(strategy) > STRATEGY_MAX_CHARS:
        raise DataError(f"strategy: at most {STRATEGY_MAX_CHARS} characters; got {len(strategy)}")
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        before = {
            "strategy": segment.strategy,
            "strategy_source": segment.strategy_source,
            "strategy_needs_review": segment.strategy_needs_review,
        }
        segment.strategy = strategy
        segment.strategy_source = "override"
        segment.strategy_needs_review = False
        segment.strategy_edited_by = user
        segment.strategy_edited_at = timezone.now()
        segment.save(
            update_fields=[
                "strategy",
                "strategy_source",
                "strategy_needs_review",
                "strategy_edited_by",
                "strategy_edited_at",
            ]
        )
        activity_record(
            actor=user,
            verb="segment.strategy_edited",
            obj=segment,
            before=before,
            after={
                "strategy": segment.strategy,
                "strategy_source": segment.strategy_source,
                "strategy_needs_review": False,
            },
        )
    return segment


def segment_rename(*, segment: Segment, name: str, user: AbstractBaseUser) -> Segment:
    """A name a person typed (source "person": lineage carries it to the same group in later runs); audited."""
    if not (user.has_perm("segmentation.edit_strategy") or user.has_perm("segmentation.change_segment")):
        raise NotAllowed("Only Marketers and Admins may rename a segment.")
    name = (name or "").strip()
    if not name:
        raise DataError("name: must not be empty; got ''")
    if len(name) > NAME_MAX_CHARS:
        raise DataError(f"name: at most {NAME_MAX_CHARS} characters; got {len(name)}")
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        before = {"name": segment.name, "name_source": segment.name_source}
        segment.name, segment.name_source = name, NameSource.PERSON
        segment.save(update_fields=["name", "name_source"])
        activity_record(
            actor=user,
            verb="segment.renamed",
            obj=segment,
            before=before,
            after={"name": name, "name_source": "person"},
        )
    return segment


# Playbook rules -----------------------------------------------------------------------------------

RULE_FIELDS = ("name", "priority", "active", "flags", "conditions", "actions", "rationale")
Actor = AbstractBaseUser | AnonymousUser | None
RuleValue = str | int | bool | list[str] | list[dict[str, str | float]]


def _rule_validate(rule: PlaybookRule) -> None:
    if not rule.name or not rule.name.strip():
        raise DataError("name: a playbook rule needs a name; got an empty value")
    if not rule.actions or not rule.actions.strip():
        raise DataError("actions: a playbook rule needs actions; got an empty value")
    rule.flags = flags_validate(rule.flags)
    rule.conditions = conditions_validate(rule.conditions)


@transaction.atomic
def playbook_rule_create(*, actor: Actor, **fields: RuleValue) -> PlaybookRule:
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise DataError(f"fields: may set {', '.join(RULE_FIELDS)}; got {', '.join(sorted(unknown))}")
    rule = PlaybookRule(**fields)
    _rule_validate(rule)
    rule.save()
    activity_record(actor=actor, verb="playbook.create", obj=rule, after=rule_as_dict(rule))
    return rule


@transaction.atomic
def playbook_rule_update(*, actor: Actor, rule: PlaybookRule, **fields: RuleValue) -> PlaybookRule:
    """Change a playbook rule; the activity log keeps the rule before and after."""
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise DataError(f"fields: may change {', '.join(RULE_FIELDS)}; got {', '.join(sorted(unknown))}")
    rule = PlaybookRule.objects.select_for_update().get(pk=rule.pk)
    before = rule_as_dict(rule)
    for key, value in fields.items():
        setattr(rule, key, value)
    _rule_validate(rule)
    rule.save()
    after = rule_as_dict(rule)
    if after != before:
        activity_record(actor=actor, verb="playbook.update", obj=rule, before=before, after=after)
    return rule


def playbook_rule_saved(*, actor: Actor, rule: PlaybookRule, before: dict[str, object] | None) -> None:
    """Audit a rule saved by the Django admin (which saves the object itself)."""
    after = rule_as_dict(rule)
    if before is None:
        activity_record(actor=actor, verb="playbook.create", obj=rule, after=after)
    elif before != after:
        activity_record(actor=actor, verb="playbook.update", obj=rule, before=before, after=after)
