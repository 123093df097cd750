"""Recommendation runs: request, execute, store the lists set-based, activate.

A run is a row (`RecommendationRun`): queued -> running -> succeeded | failed. `recommendation_run_request`
stores it and sends the task by name on commit; `recommendation_run_execute` claims it with a
conditional UPDATE (a redelivery is a no-op), reads the purchase lines and the active segments, calls
the engine (`segmentation.ml.recommend`), writes the lists of every customer (COPY on PostgreSQL,
bulk_create elsewhere) while the run is not active, then activates it in ONE transaction (the previous
active run's lists are dropped in it). Anything that goes wrong fails the run with its stage and reason,
removes its partial lists and leaves the active run as it was.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from campaigns.recommendations import selectors
from campaigns.recommendations.models import Recommendation, RecommendationRun, RecommendationRunStatus
from core import storage
from core.csvsafe import write_csv
from core.exceptions import ConfigError
from core.jsonsafe import json_safe
from core.queueing import task_send
from core.services import activity_record
from customers.models import Customer
from customers.orders.models import Product
from segmentation.ml.errors import EngineInputError
from segmentation.ml.recommend import RecommendConfig, recommend
from segmentation.models import Segment

logger = logging.getLogger(__name__)

RUN_TASK = "campaigns.recommendation_run"  # campaigns.recommendations.tasks
DEFAULT_HOLDOUT_DAYS = 30
PARAMS = ("holdout_days", "holdout_from", "n", "exclude_bought", "cold_start_below")
#: Customers with fewer purchase days than this get popularity (in their segment, else overall): the engine's default.
DEFAULT_COLD_START_BELOW = RecommendConfig.cold_start_below
COLD_START_MAX = 365


def recommendation_params(
    *,
    holdout_days: int | None = None,
    holdout_from: dt.date | str | None = None,
    n: int | None = None,
    exclude_bought: bool | None = None,
    cold_start_below: int | None = None,
) -> dict[str, Any]:
    """The run's parameters, checked: each error names the parameter, what it expects and what it got."""
    params: dict[str, Any] = {
        "holdout_days": DEFAULT_HOLDOUT_DAYS,
        "holdout_from": None,
        "n": 10,
        "exclude_bought": True,
        "cold_start_below": DEFAULT_COLD_START_BELOW,
    }
    if holdout_days is not None:
        if not isinstance(holdout_days, int) or not 1 <= holdout_days <= 365:
            raise ConfigError(f"holdout_days: expected a whole number of days from 1 to 365, got {holdout_days!r}")
        params["holdout_days"] = holdout_days
    if holdout_from is not None:
        try:
            params["holdout_from"] = dt.date.fromisoformat(str(holdout_from)).isoformat()
        except ValueError:
            raise ConfigError(f"holdout_from: expected a date as YYYY-MM-DD, got {holdout_from!r}") from None
    if n is not None:
        if not isinstance(n, int) or not 1 <= n <= 50:
            raise ConfigError(f"n: expected a whole number from 1 to 50, got {n!r}")
        params["n"] = n
    if exclude_bought is not None:
        params["exclude_bought"] = bool(exclude_bought)
    if cold_start_below is not None:
        if isinstance(cold_start_below, bool) or not isinstance(cold_start_below, int):
            raise ConfigError(f"cold_start_below: expected a whole number of purchase days, got {cold_start_below!r}")
        if not 1 <= cold_start_below <= COLD_START_MAX:
            raise ConfigError(
                f"cold_start_below: expected a whole number from 1 to {COLD_START_MAX}, got {cold_start_below!r}"
            )
        params["cold_start_below"] = cold_start_below
    return params


def recommendation_run_request(
    *, requested_by: Any = None, trigger: str = "manual", params: dict[str, Any] | None = None, enqueue: bool = True
) -> RecommendationRun:
    """Store a queued run (audited) and send its task on commit (``enqueue=False`` for an inline run)."""
    user = requested_by if getattr(requested_by, "is_authenticated", False) else None
    with transaction.atomic():
        run = RecommendationRun.objects.create(
            params=params or recommendation_params(), requested_by=user, trigger=trigger, stage="queued"
        )
        activity_record(
            actor=user, verb="recommendations.run_requested", obj=run, detail={"trigger": trigger, **run.params}
        )
        if enqueue:
            run_id = run.pk
            transaction.on_commit(lambda: recommendation_run_enqueue(run_id=run_id))
    return run


def recommendation_run_enqueue(*, run_id: int) -> None:
    """Send the task by name; an unreachable broker fails the run at once with that reason."""
    reason = task_send(RUN_TASK, args=[run_id], what="the run")
    if reason:
        RecommendationRun.objects.filter(pk=run_id, status=RecommendationRunStatus.QUEUED).update(
            status=RecommendationRunStatus.FAILED, stage="queueing", error=reason, finished_at=timezone.now()
        )


def recommendation_run_scheduled() -> int | None:
    """The periodic run: queued unless one is already queued or running; returns its id."""
    if selectors.recommendation_run_in_progress() is not None:
        return None
    return recommendation_run_request(trigger="schedule").pk


def _progress(run_id: int, stage: str, percent: int) -> None:
    RecommendationRun.objects.filter(pk=run_id, status=RecommendationRunStatus.RUNNING).update(
        stage=stage[:64], progress=percent
    )


def recommendation_run_execute(*, run_id: int) -> str:
    """Claim the queued run and execute it; returns "succeeded", "failed" or why nothing was done."""
    claimed = RecommendationRun.objects.filter(pk=run_id, status=RecommendationRunStatus.QUEUED).update(
        status=RecommendationRunStatus.RUNNING, started_at=timezone.now(), stage="loading purchases", progress=2
    )
    if claimed != 1:
        return "not queued (already taken or done)"
    run = RecommendationRun.objects.get(pk=run_id)
    stage = "loading purchases"
    timings: dict[str, float] = {}
    try:
        clock = time.perf_counter()
        lines = selectors.purchase_lines()
        segmentation = selectors.recommendation_segmentation()
        segments = selectors.segment_of_customers(segmentation=segmentation)
        customers = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
        timings["read"] = time.perf_counter() - clock
        if lines.empty:
            raise EngineInputError("No purchases to learn from: import order lines first (manage.py import_orders).")
        stage = "training and evaluating"
        _progress(run_id, stage, 10)
        p = run.params or {}
        config = RecommendConfig(
            n=int(p.get("n", 10)),
            holdout_days=int(p.get("holdout_days", DEFAULT_HOLDOUT_DAYS)),
            holdout_from=p.get("holdout_from"),
            exclude_bought=bool(p.get("exclude_bought", True)),
            cold_start_below=int(p.get("cold_start_below", DEFAULT_COLD_START_BELOW)),
        )
        result = recommend(lines, segments=segments or None, customers=customers, config=config)
        if not result.ok:
            raise EngineInputError(result.reason)
        timings.update(result.timings)
        stage = "saving recommendations"
        _progress(run_id, stage, 85)
        clock = time.perf_counter()
        _lines_write(run=run, lists=result.recommendations, segments=segments)
        timings["store"] = time.perf_counter() - clock
        stage = "activating"
        summary = result.summary()
        fields = {
            "metrics": json_safe(_metrics_by_segment_id(summary["metrics"])),
            "evaluation": json_safe(
                {"params": summary["params"], "validation": summary["validation"], "holdout": summary["holdout"]}
            ),
            "segment_products": json_safe(_defining(result.segment_products)),
            "served_model": result.served,
            "served_reason": result.served_reason,
            "customers": result.customers,
            "products": result.products,
            "segment_run_id": segmentation.active_run_id if segmentation else None,
            "timings": {k: round(v, 3) for k, v in timings.items()},
        }
        recommendation_run_activate(run=run, fields=fields)
    except BaseException as exc:
        logger.exception("recommendation run %s failed at stage %s", run_id, stage)
        _run_fail(run_id=run_id, stage=stage, error=_failure_message(exc), timings=timings)
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return "failed"
    return "succeeded"


def _failure_message(exc: BaseException) -> str:
    if isinstance(exc, EngineInputError | ConfigError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _run_fail(*, run_id: int, stage: str, error: str, timings: dict[str, float]) -> None:
    changed = RecommendationRun.objects.filter(pk=run_id, status=RecommendationRunStatus.RUNNING).update(
        status=RecommendationRunStatus.FAILED,
        stage=stage[:64],
        error=error,
        finished_at=timezone.now(),
        timings={k: round(v, 3) for k, v in timings.items()},
    )
    Recommendation.objects.filter(run_id=run_id).delete()
    if changed:
        run = RecommendationRun.objects.get(pk=run_id)
        activity_record(actor=None, verb="recommendations.run_failed", obj=run, detail={"error": error, "stage": stage})


def recommendation_run_activate(*, run: RecommendationRun, fields: dict[str, Any]) -> None:
    """In ONE transaction: the previous active run steps down (its lists are dropped), this run is active."""
    with transaction.atomic():
        previous = list(
            RecommendationRun.objects.select_for_update().filter(is_active=True).values_list("pk", flat=True)
        )
        RecommendationRun.objects.filter(pk__in=previous).update(is_active=False)
        changed = RecommendationRun.objects.filter(pk=run.pk, status=RecommendationRunStatus.RUNNING).update(
            status=RecommendationRunStatus.SUCCEEDED,
            stage="done",
            progress=100,
            finished_at=timezone.now(),
            is_active=True,
            error="",
            **fields,
        )
        if changed != 1:
            raise RuntimeError(f"recommendation run #{run.pk} is no longer running: not activated")
        Recommendation.objects.filter(run_id__in=previous).delete()
        run.refresh_from_db()
        activity_record(
            actor=run.requested_by,
            verb="recommendations.run_activated",
            obj=run,
            before={"active_run": previous[0] if previous else None},
            after={"active_run": run.pk, "served": run.served_model, "customers": run.customers},
        )


REASON_TEXT = {
    "popular": "Popular with all customers",
    "segment_popular": "Popular in the segment “{segment}”",
    "bought_with": "Bought with {product}",
}


def _reasons(lists: pd.DataFrame, products: dict[int, tuple[str, str]], segments: dict[int, str]) -> np.ndarray:
    """One line per recommendation, as the customer page shows it."""
    names = {
        str(pk): name
        for pk, name in Segment.objects.filter(pk__in={int(s) for s in segments.values()}).values_list("pk", "name")
    }
    out = np.empty(len(lists), dtype=object)
    kinds = lists["reason"].to_numpy()
    related = lists["reason_product"].to_numpy()
    customers = lists["customer"].to_numpy()
    cold = lists["cold_start"].to_numpy()
    for i in range(len(lists)):
        kind = kinds[i]
        if kind == "bought_with":
            code, description = products.get(int(related[i]), ("?", ""))
            text = REASON_TEXT[kind].format(product=description or code)
        elif kind == "segment_popular":
            text = REASON_TEXT[kind].format(segment=names.get(segments.get(int(customers[i]), ""), "your segment"))
        else:
            text = REASON_TEXT["popular"]
        if cold[i]:
            text += " (no purchase history yet)" if kind != "bought_with" else ""
        out[i] = text[:255]
    return out


def _lines_write(*, run: RecommendationRun, lists: pd.DataFrame, segments: dict[int, str]) -> None:
    """Write every line set-based: CSV COPY on PostgreSQL, bulk_create in batches elsewhere."""
    if lists is None or lists.empty:
        return
    products = {pk: (code, desc) for pk, code, desc in Product.objects.values_list("pk", "code", "description")}
    rows = pd.DataFrame(
        {
            "run_id": run.pk,
            "customer_id": lists["customer"].to_numpy(dtype=np.int64),
            "rank": lists["rank"].to_numpy(dtype=np.int64),
            "product_id": lists["product"].to_numpy(dtype=np.int64),
            "score": lists["score"].to_numpy(dtype=float),
            "reason_kind": lists["reason"].to_numpy(),
            "reason": _reasons(lists, products, segments),
            "cold_start": lists["cold_start"].to_numpy(dtype=bool),
        }
    )
    if connection.vendor == "postgresql":
        buffer = io.StringIO()
        out = rows.copy()
        out["cold_start"] = np.where(out["cold_start"], "t", "f")
        out.to_csv(buffer, index=False, header=False, float_format="%.6g")
        statement = storage.copy_statement(
            table=Recommendation._meta.db_table, columns=list(rows.columns), format="csv"
        )
        with transaction.atomic(), connection.cursor() as cursor:
            storage.copy_write(cursor, statement=statement, data=buffer.getvalue())
        return
    records = rows.to_dict("records")
    Recommendation.objects.bulk_create((Recommendation(**r) for r in records), batch_size=2000)


def _metrics_by_segment_id(metrics: dict[str, Any]) -> dict[str, Any]:
    """Per-segment metrics keyed by segment id, with the segment's name beside them for the page."""
    ids = {int(s) for m in metrics.values() for s in m.get("per_segment", {})}
    names = dict(Segment.objects.filter(pk__in=ids).values_list("pk", "name"))
    for m in metrics.values():
        for key, values in m.get("per_segment", {}).items():
            values["name"] = names.get(int(key), key)
    return metrics


def _defining(frame: pd.DataFrame | None) -> dict[str, list[dict[str, Any]]]:
    if frame is None or frame.empty:
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    for row in frame.itertuples(index=False):
        out.setdefault(str(row.segment), []).append(
            {"product": int(row.product), "buyers": int(row.buyers), "share": round(float(row.share), 4),
             "base_share": round(float(row.base_share), 4), "lift": round(float(row.lift), 3)}
        )  # fmt: skip
    return out


def recommendations_export_csv(*, n: int = 10, actor: Any = None, out: io.TextIOBase) -> int:
    """Write the active run's lists as CSV (external_id, rank, sku, description, score, reason), formula-safe
    and audited. Returns the number of lines written."""
    header = ["external_id", "rank", "sku", "description", "score", "reason"]
    rows = (
        (external_id, rank, sku, description, round(score, 6), reason)
        for external_id, rank, sku, description, score, reason in selectors.recommendations_for_export(n=n).iterator(
            chunk_size=5000
        )
    )
    count = write_csv(out, header, rows)
    activity_record(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        verb="recommendations.exported",
        obj=selectors.recommendation_run_active(),
        detail={"n": n, "lines": count},
    )
    return count


__all__ = [
    "PARAMS",
    "recommendation_params",
    "recommendation_run_activate",
    "recommendation_run_execute",
    "recommendation_run_request",
    "recommendation_run_scheduled",
    "recommendations_export_csv",
]
