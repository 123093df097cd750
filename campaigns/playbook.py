"""The strategy playbook: from a segment's flags and profile to recommended actions.

Rules are rows (`PlaybookRule`), so Admins edit them in the admin or on the playbook page.
`DEFAULT_RULES` are the shipped defaults, created by a data migration. Matching is a pure
function over plain data (`rule_matches`), so it is tested without a database.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core.exceptions import ConfigError

OPS = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
STATS = ("mean", "median", "min", "max", "z")


# Shipped defaults, seeded from the engine's rule table (segmentation/ml/strategies.py), so a fresh
# install recommends exactly what the engine would. Each engine rule keys on one flag; the last one
# (no flag) matches every segment. Admins then edit the rows; later engine changes do not touch them.
def _defaults_from_engine() -> list[dict[str, Any]]:
    from segmentation.ml.strategies import STRATEGY_RULES, strategy_text

    rules = []
    for i, rule in enumerate(STRATEGY_RULES, start=1):
        last_resort = rule["flag"] is None
        rules.append(
            {
                "name": rule["title"],
                "priority": 1000 if last_resort else i * 10,
                "flags": [] if last_resort else [rule["flag"]],
                "conditions": [],
                "actions": strategy_text(rule),
                "rationale": rule["rationale"],
            }
        )
    return rules


DEFAULT_RULES: list[dict[str, Any]] = _defaults_from_engine()


def condition_holds(condition: Mapping[str, Any], stats: Mapping[str, Mapping[str, Any]]) -> bool:
    """One condition against a profile; a feature the profile lacks never matches."""
    feature_stats = stats.get(condition.get("feature", ""))
    if not isinstance(feature_stats, Mapping):
        return False
    value = feature_stats.get(condition.get("stat", "z"))
    if value is None:
        return False
    op = OPS.get(condition.get("op", ""))
    if op is None:
        return False
    try:
        return bool(op(float(value), float(condition["value"])))
    except (KeyError, TypeError, ValueError):
        return False


def rule_matches(rule: Any, *, flags: Iterable[str], stats: Mapping[str, Mapping[str, Any]]) -> bool:
    """True when the segment carries every flag of the rule and every condition holds."""
    have = set(flags or ())
    if not set(rule.flags or ()) <= have:
        return False
    return all(condition_holds(c, stats or {}) for c in (rule.conditions or ()))


def first_match(rules: Sequence[Any], *, flags: Iterable[str], stats: Mapping[str, Mapping[str, Any]]) -> Any | None:
    """The first active rule (rules come ordered by priority) that matches, or None."""
    flags = list(flags or ())
    for rule in rules:
        if getattr(rule, "active", True) and rule_matches(rule, flags=flags, stats=stats):
            return rule
    return None


def conditions_validate(conditions: Any) -> list[dict[str, Any]]:
    """Check a rule's conditions; the message names the entry, the field, allowed values and the value."""
    if conditions in (None, ""):
        return []
    if not isinstance(conditions, list):
        raise ConfigError(f"conditions: expected a list of conditions; got {conditions!r}")
    clean = []
    for i, c in enumerate(conditions, start=1):
        if not isinstance(c, dict):
            raise ConfigError(f"condition {i}: expected an object with feature, stat, op, value; got {c!r}")
        feature = c.get("feature")
        if not isinstance(feature, str) or not feature:
            raise ConfigError(f"condition {i}, feature: expected a feature name; got {feature!r}")
        stat = c.get("stat", "z")
        if stat not in STATS:
            raise ConfigError(f"condition {i}, stat: expected one of {', '.join(STATS)}; got {stat!r}")
        op = c.get("op")
        if op not in OPS:
            raise ConfigError(f"condition {i}, op: expected one of {', '.join(OPS)}; got {op!r}")
        value = c.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"condition {i}, value: expected a number; got {value!r}")
        clean.append({"feature": feature, "stat": stat, "op": op, "value": value})
    return clean


def flags_validate(flags: Any) -> list[str]:
    if flags in (None, ""):
        return []
    if not isinstance(flags, list) or not all(isinstance(f, str) and f for f in flags):
        raise ConfigError(f'flags: expected a list of flag names like ["upsell"]; got {flags!r}')
    return list(flags)


def rule_as_dict(rule: Any) -> dict[str, Any]:
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
