"""The dashboard's cards (and the segments API's pages), kept in the shared cache until anything they show changes.

Building them costs six queries and their model instances (about a third of the dashboard's time at 1M
customers); they change only when a segmentation, a run, an active run's segments, a requester, the stored
lifetime values or the customers change. `segmentation_state` fingerprints the first five in one query: every
insert and update writes a row version with a new (`xmin`, `ctid`) — the transaction that wrote it and where —
and a delete changes the count; the customers' write version (`customers_write_version`) covers the customers.
So a card is never older than the data it shows (the customer counts as their statistics last saw them, within
about a second).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection

from customers.models import CustomerValue
from customers.selectors.versions import customers_write_version
from segmentation.ml import charts
from segmentation.models import Segment, Segmentation, SegmentRun
from segmentation.selectors.runs import DashboardEntry, dashboard_entries, run_units
from segmentation.selectors.segments import segments_with_values

#: At most as long as the segments' lifetime-value figures are kept (segments.SEGMENT_VALUES_TTL): orders
#: imported since count after that long, as on the segment pages.
DASHBOARD_CACHE_SECONDS = 300
T = TypeVar("T")


def segmentation_state() -> str:
    """One query: a fingerprint that changes with any write to the segmentations, the runs, the active runs'
    segments, the runs' requesters, or the stored lifetime values (on other databases, counts and latest ids)."""
    seg, run, segment = (m._meta.db_table for m in (Segmentation, SegmentRun, Segment))
    user, value = get_user_model()._meta.db_table, CustomerValue._meta.db_table
    if connection.vendor == "postgresql":
        rows = "count(*) || '.' || coalesce(sum(hashtext(xmin::text || ctid::text)), 0)"
    else:  # SQLite (tests, the embedded default): no row versions; counts and the newest ids
        rows = "count(*) || '.' || coalesce(max(id), 0)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT {rows} FROM {seg}), (SELECT {rows} FROM {run}), "  # noqa: S608 - table names only
            f"(SELECT {rows} FROM {segment} WHERE run_id IN (SELECT active_run_id FROM {seg})), "
            f"(SELECT {rows} FROM {user} WHERE id IN (SELECT requested_by_id FROM {run})), "
            f"(SELECT max(id) FROM {value})"
        )
        return repr(cursor.fetchone())


def cached_while_unchanged(name: str, build: Callable[[], T], *, parts: tuple = ()) -> T:
    """`build()`, kept in the shared cache while `segmentation_state` and `parts` are unchanged (PostgreSQL; on
    other databases, without row versions to see an update in place, built every time)."""
    if connection.vendor != "postgresql":
        return build()
    state = (segmentation_state(), *parts, connection.settings_dict.get("NAME"))
    key = f"segmentation:{name}:" + hashlib.sha256(repr(state).encode()).hexdigest()[:32]
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, DASHBOARD_CACHE_SECONDS)
    return value


def dashboard_cards() -> list[DashboardEntry]:
    """`dashboard_entries` with each active segment's card numbers (`share_pct`, `key_numbers`) and its flags from
    lifetime values, from the shared cache while `segmentation_state` and the customers are unchanged."""
    return cached_while_unchanged("dashboard", _cards, parts=(customers_write_version(),))


def _cards() -> list[DashboardEntry]:
    entries = dashboard_entries()
    for e in entries:
        units = run_units(run=e.active) if e.active else {}
        segments_with_values(segments=list(e.segments))  # flags from lifetime values when present
        for s in e.segments:
            _decorate_segment(s, units=units)
    return entries


def _decorate_segment(s: Segment, *, units: dict[str, str]) -> None:
    """Card numbers: share in percent and the mean of each feature in the run's own units."""
    s.share_pct = (s.share or 0) * 100
    s.key_numbers = [
        {
            "label": charts.feature_name(f),
            "value": charts.format_value(f, (stats or {}).get("mean"), charts.feature_unit(f, units)),
        }
        for f, stats in (s.profile or {}).items()
    ][:5]
