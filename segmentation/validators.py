"""Field validators of the segmentation models."""

from __future__ import annotations

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
