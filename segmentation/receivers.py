"""Signal receivers of the segmentation app (connected in SegmentationConfig.ready)."""

from __future__ import annotations

import logging

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

ASSIGN_TASK = "segmentation.assign_new_customers"  # segmentation.tasks.assign_new_customers


def _queue_assignment() -> None:
    try:
        current_app.send_task(ASSIGN_TASK)
    except Exception:  # the broker is down: the next run (or change) assigns them; never break an import
        logger.exception("could not queue the assignment of new customers")


def on_customers_changed(sender: object = None, **kwargs: object) -> None:
    """New or changed customers: queue their assignment to the active segments once the change commits."""
    transaction.on_commit(_queue_assignment)


def on_customer_values_fitted(sender: object = None, **kwargs: object) -> None:
    """A value fit was stored: the active runs' segment flags (high value, at risk) follow the new values."""
    from segmentation.services.value_flags import active_segment_flags_apply_values  # models are ready only now

    changed = active_segment_flags_apply_values()
    logger.info("value fit %s: %s segment(s) changed flags", kwargs.get("fit_id"), changed)
