"""Field validators of the segmentation models."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django_celery_beat.validators import crontab_validator

CRON_FIELDS = "m h dom mon dow"


def cron_schedule_validator(value: str) -> None:
    """A 5-field cron expression (m h dom mon dow; day of week 0-7, 0 and 7 = Sunday), read by django-celery-beat."""
    if len(value.split()) != 5:
        raise ValidationError(f"expected 5 cron fields ({CRON_FIELDS}); got {value!r}")
    try:
        crontab_validator(value)
    except ValidationError as exc:
        raise ValidationError(f"not a cron expression ({'; '.join(exc.messages)}); got {value!r}") from None


COLOR_PATTERN = re.compile(r"#[0-9a-fA-F]{6}")


def color_validator(value: str) -> None:
    """A segment's colour: '#rrggbb' (it goes into pages' styles and charts, so nothing else is accepted)."""
    if value and not COLOR_PATTERN.fullmatch(value):
        raise ValidationError(f"expected a colour like #1f77b4; got {value[:20]!r}")


# Playbook conditions are a list of flat objects (depth 2); a little room for later shapes, never thousands.
JSON_MAX_DEPTH = 8


def json_depth(text: str) -> int:
    """How deeply the arrays and objects of a JSON text nest, read without parsing (so without recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def json_depth_validate(text: str, *, name: str, max_depth: int = JSON_MAX_DEPTH) -> None:
    """Refuse JSON nested deeper than `max_depth` before it is parsed (a deep text makes the parser recurse)."""
    found = json_depth(text)
    if found > max_depth:
        raise ValidationError(f"{name}: nested {found} levels deep; at most {max_depth} levels are allowed")
