"""The attribute columns of an import: the plan fitted to the file's first values, and the schema rows.

* `plan_for_values`: decisions made on the first chunk, before any row is written (an income column
  whose values are not in thousands is kept in its unit; a summary of each attribute's values).
* `attributes_register`: the CustomerAttribute row of each attribute column (kind, unit, role; a new
  column's role and unit guessed by `roles`, a known one's kept as Admins left them).
"""

from __future__ import annotations

import pandas as pd

from customers.imports import roles, validation, writers
from customers.imports.columns import INCOME_THOUSANDS_MAX_MEDIAN, ColumnPlan, income_kept
from customers.models import AttributeKind, CustomerAttribute


def plan_for_values(
    plan: ColumnPlan, frame: pd.DataFrame, notes: list[str]
) -> tuple[ColumnPlan, dict[str, roles.ValueSummary]]:
    """The plan adjusted to the first chunk's values (income not in thousands is kept in its unit), and a
    summary of each attribute column's values for guessing roles."""
    if "annual_income" in plan.fields and plan.fields["annual_income"] < frame.shape[1]:
        median = validation.numbers_median(frame[plan.fields["annual_income"]])
        if median is not None and median > INCOME_THOUSANDS_MAX_MEDIAN:
            plan, note = income_kept(plan)
            notes.append(note)
    summaries = {
        a.key: roles.values_summarize(validation.text_column(frame[a.index]))
        for a in plan.attributes
        if a.index < frame.shape[1]
    }
    return plan, summaries


def attributes_register(
    plan: ColumnPlan,
    kinds: validation.KindTracker,
    *,
    summaries: dict[str, roles.ValueSummary] | None = None,
    notes: list[str] | None = None,
) -> writers.Kinds:
    """Create or update the CustomerAttribute schema rows; return the kind each key is stored as.

    A column whose kind disagrees with an earlier import is stored as text from then on.
    None means the column had no value at all in this file. A new attribute gets the unit and role
    the plan gives it, else guessed from its header and `summaries` (the first chunk's values); a known
    one keeps its own (Admins may have edited them). The guesses are added to `notes`.
    """
    keys = [a.key for a in plan.attributes]
    existing = {a.key: a for a in CustomerAttribute.objects.filter(key__in=keys)}
    resolved: writers.Kinds = {}
    guessed: dict[str, list[str]] = {}
    for attr in plan.attributes:
        kind = kinds.kind(attr.key)
        known = existing.get(attr.key)
        if known is None:
            summary = (summaries or {}).get(attr.key)
            role = attr.role or roles.role_guess(attr.header, summary)
            unit = attr.unit if attr.unit is not None else roles.unit_guess(attr.header)
            if kind != AttributeKind.NUMBER:
                unit = ""
            CustomerAttribute.objects.create(
                key=attr.key, label=attr.header, kind=kind or AttributeKind.TEXT, unit=unit, role=role
            )
            if role != "other":
                guessed.setdefault(role, []).append(attr.header)
        elif kind is not None and kind != known.kind:
            known.kind = AttributeKind.TEXT
            known.save(update_fields=["kind"])
            kind = AttributeKind.TEXT
        resolved[attr.key] = kind
    if guessed and notes is not None:
        listed = "; ".join(f"{role}: {', '.join(headers)}" for role, headers in guessed.items())
        notes.append(f"Roles of the new columns (an Admin can change them): {listed}; the others: other.")
    return resolved
