"""Signal receivers of the segmentation app (connected in SegmentationConfig.ready)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def _queue_assignment() -> None:
    from segmentation.tasks import assign_new_customers

    try:
        assign_new_customers.delay()
    except Exception:  # the broker is down: the next run (or change) assigns them; never break an import
        logger.exception("could not queue the assignment of new customers")


def on_customers_changed(sender: Any = None, **kwargs: Any) -> None:
    """New or changed customers: queue their assignment to the active segments once the change commits."""
    transaction.on_commit(_queue_assignment)
