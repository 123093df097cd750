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
