"""A long job's progress written on a database connection of its own, visible while the job's transaction is open.

A job that writes everything in one transaction (an order import COPYing its lines as it reads them) cannot
show its progress on its own connection: nobody else sees an uncommitted row. `SideProgress` sends each
update to a thread of its own, whose Django connection commits it at once. Updates are best-effort: while
one is being written the next is dropped (the one after will say more), and a failure is logged, never
raised. `close` waits for the last update and closes the thread's connection.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import connection
from django.db.models import Model

logger = logging.getLogger(__name__)


class SideProgress:
    def __init__(self, model: type[Model], pk: Any) -> None:
        self.model, self.pk = model, pk
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="job-progress")
        self.pending: Future[None] | None = None

    def update(self, **fields: Any) -> None:
        """Write `fields` on the job's row soon (dropped while the previous update is still being written)."""
        if self.pending is not None and not self.pending.done():
            return
        self.pending = self.executor.submit(self._write, fields)

    def _write(self, fields: dict[str, Any]) -> None:
        try:
            self.model.objects.filter(pk=self.pk).update(**fields)
        except Exception:  # progress is a courtesy: the job goes on
            logger.exception("could not write the progress of %s %s", self.model.__name__, self.pk)

    def close(self) -> None:
        if self.pending is not None:
            self.pending.exception()
        self.executor.submit(lambda: connection.close()).result()  # the thread's own connection (looked up there)
        self.executor.shutdown()
