"""Sending a long job's task to the broker, by name, with one answer when the broker cannot be reached.

Every long job is a row (a segment run, a value fit, a recommendation run, an import) whose task is sent by
name after the row is committed. When the broker is down the row must not stay "queued" forever: the caller
marks it failed with the reason this module words, the same for every kind of job.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app

logger = logging.getLogger(__name__)


def task_send(name: str, *, args: list | None = None, kwargs: dict[str, Any] | None = None, what: str) -> str | None:
    """Send task `name`; None when sent, else the reason to store on the job ("could not queue the run: ...").

    `what` names the job for the reason and the log ("the run", "the fit").
    """
    try:
        current_app.send_task(name, args=args, kwargs=kwargs)
    except Exception as exc:  # broker down or misconfigured: the caller fails its row with this reason
        logger.exception("could not queue %s (%s)", what, name)
        return f"could not queue {what}: the task broker is unreachable ({exc})"
    return None
