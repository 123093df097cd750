"""The strategy playbook: from a segment's flags and profile to recommended actions.

Rules are rows (`segmentation.models.PlaybookRule`), so Admins edit them in the admin or on the
playbook page; the shipped defaults are created by a data migration. Matching and validation are
pure functions over plain data (`rule_matches`, `conditions_validate`), tested without a database;
`playbook_rules` and `playbook_rule_for` read the rows.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from django.db.models import QuerySet

from core.exceptions import ConfigError
from segmentation.models import PlaybookRule

OPS = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
STATS = ("mean", "median", "min", "max", "z")

Stats = Mapping[str, Mapping[str, float | None]]
Condition = dict[str, str | float]


class Rule(Protocol):
    """What matching reads of a rule (a `PlaybookRule` row or any object with these attributes)."""

    flags: list[str]
    conditions: list[Condition]


def condition_holds(condition: Mapping[str, object], stats: Stats) -> bool:
    """One condition against a profile; a feature the profile lacks never matches."""
    feature_stats = stats.get(str(condition.get("feature", "")))
    if not isinstance(feature_stats, Mapping):
        return False
    value = feature_stats.get(str(condition.get("stat", "z")))
    if value is None:
        return False
    op = OPS.get(str(condition.get("op", "")))
    if op is None:
        return False
    try:
        return bool(op(float(value), float(condition["value"])))
    except (KeyError, TypeError, ValueError):
        return False


def rule_matches(rule: Rule, *, flags: Iterable[str], stats: Stats) -> bool:
    """True when the segment carries every flag of the rule and every condition holds."""
    have = set(flags or ())
    if not set(rule.flags or ()) <= have:
        return False
    return all(condition_holds(c, stats or {}) for c in (rule.conditions or ()))


def first_match(rules: Sequence[PlaybookRule], *, flags: Iterable[str], stats: Stats) -> PlaybookRule | None:
    """The first active rule (rules come ordered by priority) that matches, or None."""
    flags = list(flags or ())
    for rule in rules:
        if rule.active and rule_matches(rule, flags=flags, stats=stats):
            return rule
    return None


MAX_CONDITIONS = 50


def _short(value: object, limit: int = 80) -> str:
    """A value for an error message, cut short (a nested or huge value is never echoed whole)."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"a deeply nested {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def conditions_validate(conditions: object) -> list[Condition]:
    """Check a rule's conditions; the message names the entry, the field, allowed values and the value."""
    if conditions in (None, ""):
        return []
    if not isinstance(conditions, list):
        raise ConfigError(f"conditions: expected a list of conditions; got {_short(conditions)}")
    if len(conditions) > MAX_CONDITIONS:
        raise ConfigError(f"conditions: at most {MAX_CONDITIONS} conditions per rule; got {len(conditions)}")
    clean: list[Condition] = []
    for i, c in enumerate(conditions, start=1):
        if not isinstance(c, dict):
            raise ConfigError(f"condition {i}: expected an object with feature, stat, op, value; got {_short(c)}")
        feature = c.get("feature")
        if not isinstance(feature, str) or not feature:
            raise ConfigError(f"condition {i}, feature: expected a feature name; got {_short(feature)}")
        stat = c.get("stat", "z")
        if stat not in STATS:
            raise ConfigError(f"condition {i}, stat: expected one of {', '.join(STATS)}; got {_short(stat)}")
        op = c.get("op")
        if op not in OPS:
            raise ConfigError(f"condition {i}, op: expected one of {', '.join(OPS)}; got {_short(op)}")
        value = c.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"condition {i}, value: expected a number; got {_short(value)}")
        clean.append({"feature": feature, "stat": stat, "op": op, "value": value})
    return clean


def flags_validate(flags: object) -> list[str]:
    if flags in (None, ""):
        return []
    if not isinstance(flags, list) or not all(isinstance(f, str) and f for f in flags):
        raise ConfigError(f'flags: expected a list of flag names like ["upsell"]; got {flags!r}')
    return list(flags)


def rule_as_dict(rule: PlaybookRule) -> dict[str, object]:
    """The audited state of a rule (before/after in the activity log)."""
    return {
        "name": rule.name,
        "priority": rule.priority,
        "active": rule.active,
        "flags": list(rule.flags or []),
        "conditions": list(rule.conditions or []),
        "actions": rule.actions,
        "rationale": rule.rationale,
    }


def playbook_rules(*, active_only: bool = False) -> QuerySet[PlaybookRule]:
    qs = PlaybookRule.objects.all()
    if active_only:
        qs = qs.filter(active=True)
    return qs.order_by("priority", "id")


def playbook_rule_for(*, flags: list[str], stats: Stats) -> PlaybookRule | None:
    """The playbook rule that applies to a segment with these flags and profile statistics."""
    return first_match(list(playbook_rules(active_only=True)), flags=flags, stats=stats)
