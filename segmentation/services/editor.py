"""Segmentations created and changed in the editor: validated by the engine's one validator, audited.

`segmentation_save` takes the editor's values (model field names), checks the configuration with
`config_errors` (ConfigError keyed by model field), saves, keeps the schedule's periodic task in step
and records one activity entry with the values before and after.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from core.exceptions import ConfigError
from core.services import activity_record
from segmentation.models import CONFIG_FIELD_NAMES, Segmentation
from segmentation.services import schedules
from segmentation.services.config import config_from_values

EDITABLE = (
    "name",
    "description",
    "method",
    "rfm_cuts",
    "features",
    "scaler",
    "scalers",
    "transform",
    "transforms",
    "k",
    "k_min",
    "k_max",
    "missing_policy",
    "min_share",
    "outliers",
    "age_groups",
    "age_bins",
    "schedule",
)


def segmentation_state(segmentation: Segmentation) -> dict[str, Any]:
    """The editable values of `segmentation`, JSON (the audit's before / after)."""
    return {field: getattr(segmentation, field) for field in EDITABLE}


def segmentation_save(*, segmentation: Segmentation | None, values: dict[str, Any], actor: Any) -> Segmentation:
    """Create (`segmentation=None`) or change a segmentation from the editor's `values`; ConfigError keyed by field."""
    unknown = sorted(set(values) - set(EDITABLE))
    if unknown:
        raise ConfigError(f"not editable: {', '.join(unknown)}; allowed are {', '.join(EDITABLE)}")
    target = segmentation or Segmentation()
    before = segmentation_state(target) if segmentation else None
    for field, value in values.items():
        setattr(target, field, value)
    try:
        config_from_values(values=target.config_values())
    except ConfigError as exc:
        raise ConfigError(errors={CONFIG_FIELD_NAMES.get(f, f): text for f, text in exc.errors.items()}) from None
    try:
        target.full_clean(exclude=["active_run"])
    except ValidationError as exc:
        errors = {field: " ".join(messages) for field, messages in exc.message_dict.items()}
        raise ConfigError(errors=errors) from None
    with transaction.atomic():
        target.save()
        schedules.segmentation_schedule_sync(segmentation=target)
        activity_record(
            actor=actor,
            verb="segmentation.changed" if segmentation else "segmentation.created",
            obj=target,
            before=before,
            after=segmentation_state(target),
        )
    return target
