"""Insight pages: dashboard, runs (page, history, request, status), segments, comparison. Thin: selectors read."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from core.models import Activity
from core.services import activity_detail_update

VIEW_PERM = "segmentation.view_segment"
# Every bulk export of customers (members, movers) needs the one customer-export permission (Marketer, Admin).
EXPORT_PERM = "customers.export_customers"
CHART_CACHE_SECONDS = 3600


def export_rows_counted(rows: Iterable[Any], *, entry: Activity) -> Iterator[Any]:
    """Pass the rows through and write how many were sent into the export's audit entry when the stream ends."""
    sent, finished = 0, False
    try:
        for row in rows:
            sent += 1
            yield row
        finished = True
    finally:  # also when the client goes away mid-download: the entry then says how far it got
        activity_detail_update(activity=entry, rows=sent, finished=finished)
