from __future__ import annotations

from typing import Any

from django.db import models

from core.models import Activity


def activity_record(
    *,
    actor: Any,
    verb: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    before: dict | None = None,
    after: dict | None = None,
    detail: dict | None = None,
) -> Activity:
    """Append one audit entry. Pass `obj` or the object_* fields."""
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:255]
    return Activity.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        verb=verb,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:255],
        before=before,
        after=after,
        detail=detail or {},
    )


def activity_detail_update(*, activity: Activity, **detail: Any) -> None:
    """Add or replace keys of an entry's detail (e.g. a streamed export's row count, known at its end)."""
    activity.detail = {**(activity.detail or {}), **detail}
    Activity.objects.filter(pk=activity.pk).update(detail=activity.detail)
