"""Fit the lifetime-value models on the orders in the database and store each customer's prediction.

    fit = customer_value_fit(calibration_end=date(1997, 9, 30), holdout_end=date(1998, 6, 30))

BG/NBD (repeat purchases, P(active)) and Gamma-Gamma (spend per purchase) are fitted on the
calibration period (to the last order day when none is given). With a holdout end, the fit is checked
against what happened in (calibration end, holdout end] beside a naive baseline, and the customers are
then scored on their whole history to the holdout end with the calibration fit. A fit on a boundary or
one that fails is stored with its status and reason (predictions come from the no-dropout NBD
fallback); no orders at all is a failed fit that leaves the stored values as they were. The values of
the latest fit replace the previous ones in one transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from core import storage
from core.jsonsafe import json_safe
from core.queueing import task_send
from core.services import activity_record
from customers.orders.value_models import CustomerValue, ValueFit, ValueFitStatus
from customers.orders.value_selectors import order_transactions, value_fit_stale_before
from customers.signals import customer_values_fitted
from segmentation.ml.clv import clv_report, clv_scores, clv_summary
from segmentation.ml.errors import EngineInputError

logger = logging.getLogger(__name__)

#: The Celery task that runs a queued fit (customers.tasks), sent by name as runs are.
VALUE_FIT_TASK = "customers.fit_customer_values"

NO_ORDERS = "No orders with a customer to fit on: import order lines first (manage.py import_orders)."


def _ms(start: float) -> int:
    return round((time.perf_counter() - start) * 1000)


def customer_value_fit(
    *,
    calibration_end: dt.date | None = None,
    holdout_end: dt.date | None = None,
    horizon_weeks: int = 52,
    pareto: bool = True,
    actor: Any = None,
    fit: ValueFit | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> ValueFit:
    """Fit, store and audit; returns the `ValueFit` row (status ok, boundary or failed, never an exception
    for what the data says; a holdout end before the calibration end is refused with `EngineInputError`).

    `pareto` also fits Pareto/NBD for comparison (up to the report's row limit); predictions come from
    BG/NBD either way, and Pareto/NBD can take most of the time (Online Retail: ~45 s of ~46 s)."""
    if calibration_end and holdout_end and holdout_end < calibration_end:
        raise EngineInputError(f"holdout_end: {holdout_end} is before calibration_end {calibration_end}")
    if horizon_weeks < 1:
        raise EngineInputError(f"horizon_weeks: must be at least 1, got {horizon_weeks}")
    timings: dict[str, int] = {}
    if fit is None:
        fit = ValueFit(created_by=actor if getattr(actor, "is_authenticated", False) else None)
    fit.calibration_end, fit.holdout_end, fit.horizon_weeks = calibration_end, holdout_end, horizon_weeks
    step = progress or (lambda stage, percent: None)
    step("reading purchases", 5)
    start = time.perf_counter()
    frame = order_transactions(until=holdout_end or calibration_end)
    timings["read_ms"] = _ms(start)
    if frame.empty:
        until = holdout_end or calibration_end
        reason = NO_ORDERS if until is None else f"No purchases with a customer up to {until}: nothing to fit on."
        return _failed(fit, reason, timings, actor)
    if fit.calibration_end is None:
        fit.calibration_end = frame["date"].max().date()
    if holdout_end is not None and holdout_end == fit.calibration_end:
        fit.holdout_end = holdout_end = None

    columns = {"customer_col": "customer", "date_col": "date", "amount_col": "amount"}
    step("fitting the models", 20)
    start = time.perf_counter()
    try:
        report = clv_report(
            frame,
            calibration_end=fit.calibration_end,
            holdout_end=holdout_end,
            pareto="auto" if pareto else False,
            **columns,
        )
    except EngineInputError as exc:
        return _failed(fit, str(exc), timings, actor)
    timings["fit_ms"] = _ms(start)

    step("scoring customers", 70)
    start = time.perf_counter()
    summary = report.summary
    if holdout_end is not None:
        summary = clv_summary(frame, calibration_end=holdout_end, **columns)
    scores = clv_scores(summary, report.bgnbd, report.gamma_gamma, horizon=float(horizon_weeks))
    timings["score_ms"] = _ms(start)

    params = json_safe(report.as_dict())
    fit.status = report.status
    fit.reason = report.as_dict().get("reason") or ""
    fit.params = params
    fit.holdout = params.get("holdout")
    fit.customers = len(summary)
    fit.stage, fit.progress = "", 100
    step("storing values", 85)
    start = time.perf_counter()
    with transaction.atomic():
        fit.save()
        _values_replace(fit, summary, scores)
        timings["store_ms"] = _ms(start)
        fit.timings = timings
        fit.save(update_fields=["timings"])
        _audit(fit, actor)
        fit_id = fit.pk
        transaction.on_commit(lambda: _values_fitted_send(fit_id=fit_id))
    return fit


def _values_fitted_send(*, fit_id: int) -> None:
    """Tell listeners (segment flags) that values changed; a listener's error never fails the stored fit."""
    for _receiver, result in customer_values_fitted.send_robust(sender=ValueFit, fit_id=fit_id):
        if isinstance(result, Exception):
            logger.error("a listener of customer_values_fitted failed after fit %s: %r", fit_id, result)


def _failed(fit: ValueFit, reason: str, timings: dict[str, int], actor: Any) -> ValueFit:
    fit.status = ValueFitStatus.FAILED
    fit.reason = reason
    fit.params = {"status": "failed", "reason": reason}
    fit.timings = timings
    fit.stage, fit.progress = "", 100
    with transaction.atomic():
        fit.save()
        _audit(fit, actor)
    return fit


def _audit(fit: ValueFit, actor: Any) -> None:
    activity_record(
        actor=actor,
        verb="orders.values_fitted",
        obj=fit,
        detail={"customers": fit.customers, "status": fit.status, "reason": fit.reason},
    )


def _values_replace(fit: ValueFit, summary: pd.DataFrame, scores: pd.DataFrame) -> None:
    """Delete every stored value and write this fit's, set-based (binary COPY built by numpy on PostgreSQL)."""
    clv = scores["clv"].to_numpy(dtype=float)
    rows = pd.DataFrame(
        {
            "customer_id": summary.index.to_numpy(dtype=np.int64),
            "fit_id": fit.pk,
            "p_alive": np.clip(scores["p_alive"].to_numpy(dtype=float), 0.0, 1.0),
            "expected_purchases": scores["expected_purchases"].to_numpy(dtype=float),
            "expected_value": np.where(np.isfinite(clv), clv, np.nan),
            "x": summary["x"].to_numpy(dtype=np.int64),
            "t_x": summary["t_x"].to_numpy(dtype=float),
            "T": summary["T"].to_numpy(dtype=float),
        }
    )
    now = timezone.now()
    CustomerValue.objects.all().delete()
    if connection.vendor == "postgresql":
        columns = [*rows.columns, "fitted_at"]
        known = rows["expected_value"].notna().to_numpy()
        payload = [_value_rows_binary(rows[known], now, _VALUE_ROW), _value_rows_binary(rows[~known], now, _NULL_ROW)]
        with connection.cursor() as cursor:
            storage.copy_binary(cursor, table=CustomerValue._meta.db_table, columns=columns, rows=payload)
        return
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")  # NULL for a missing value
    CustomerValue.objects.bulk_create((CustomerValue(**r, fitted_at=now) for r in records), batch_size=500)


def _row_dtype(*, value: bool) -> np.dtype:
    fields = [("fields", ">i2")]
    for name, kind in (("customer", ">i8"), ("fit", ">i8"), ("p_alive", ">f8"), ("purchases", ">f8")):
        fields += [(f"{name}_len", ">i4"), (name, kind)]
    fields += [("value_len", ">i4")] + ([("value", ">f8")] if value else [])
    for name, kind in (("x", ">i4"), ("t_x", ">f8"), ("T", ">f8"), ("fitted_at", ">i8")):
        fields += [(f"{name}_len", ">i4"), (name, kind)]
    return np.dtype(fields)


_VALUE_ROW = _row_dtype(value=True)
_NULL_ROW = _row_dtype(value=False)  # expected value NULL (length -1, no bytes)
_PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _value_rows_binary(rows: pd.DataFrame, now: dt.datetime, dtype: np.dtype) -> bytes:
    """Rows in PostgreSQL's binary COPY format, fixed width, built by numpy (no per-row Python)."""
    out = np.empty(len(rows), dtype=dtype)
    out["fields"] = 9
    for name in dtype.names:
        if name.endswith("_len"):
            base = name[: -len("_len")]
            out[name] = dtype[base].itemsize if base in dtype.names else -1
    out["customer"] = rows["customer_id"].to_numpy(dtype=np.int64)
    out["fit"] = rows["fit_id"].to_numpy(dtype=np.int64)
    out["p_alive"] = rows["p_alive"].to_numpy(dtype=float)
    out["purchases"] = rows["expected_purchases"].to_numpy(dtype=float)
    if "value" in dtype.names:
        out["value"] = rows["expected_value"].to_numpy(dtype=float)
    out["x"] = rows["x"].to_numpy(dtype=np.int64)
    out["t_x"] = rows["t_x"].to_numpy(dtype=float)
    out["T"] = rows["T"].to_numpy(dtype=float)
    out["fitted_at"] = (now - _PG_EPOCH) // dt.timedelta(microseconds=1)
    return out.tobytes()


def value_fit_request(
    *,
    actor: Any,
    calibration_end: dt.date | None = None,
    holdout_end: dt.date | None = None,
    horizon_weeks: int = 52,
) -> ValueFit:
    """Queue a fit as a row (status queued) and send its task when the transaction commits.

    While another fit is queued or running that one is returned instead (one fit at a time)."""
    if calibration_end and holdout_end and holdout_end < calibration_end:
        raise EngineInputError(f"holdout_end: {holdout_end} is before calibration_end {calibration_end}")
    if horizon_weeks < 1:
        raise EngineInputError(f"horizon_weeks: must be at least 1, got {horizon_weeks}")
    with transaction.atomic():
        ValueFit.objects.filter(status__in=ValueFit.PENDING, created_at__lt=value_fit_stale_before()).update(
            status=ValueFitStatus.FAILED, stage="", reason="the fit stopped without finishing (its worker was lost)"
        )
        pending = ValueFit.objects.select_for_update().filter(status__in=ValueFit.PENDING).first()
        if pending is not None:
            return pending
        fit = ValueFit.objects.create(
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            status=ValueFitStatus.QUEUED,
            stage="queued",
            calibration_end=calibration_end,
            holdout_end=holdout_end,
            horizon_weeks=horizon_weeks,
        )
        fit_id = fit.pk
        transaction.on_commit(lambda: value_fit_enqueue(fit_id=fit_id))
    return fit


def value_fit_enqueue(*, fit_id: int) -> None:
    """Send the fit's task; a broker that cannot be reached fails the fit with the reason."""
    reason = task_send(VALUE_FIT_TASK, kwargs={"fit_id": fit_id}, what="the fit")
    if reason:  # broker down: say so on the fit rather than leaving it queued forever
        ValueFit.objects.filter(pk=fit_id, status=ValueFitStatus.QUEUED).update(
            status=ValueFitStatus.FAILED, stage="", reason=reason
        )


def value_fit_run(*, fit_id: int, pareto: bool = False) -> str:
    """Run a queued fit once: claim it (queued -> running, one row changed), fit, store; returns the status.

    An unexpected error fails the row with its reason and is raised for the worker's log."""
    claimed = ValueFit.objects.filter(pk=fit_id, status=ValueFitStatus.QUEUED).update(
        status=ValueFitStatus.RUNNING, stage="starting", progress=1
    )
    if not claimed:
        return "skipped"
    fit = ValueFit.objects.select_related("created_by").get(pk=fit_id)

    def progress(stage: str, percent: int) -> None:
        ValueFit.objects.filter(pk=fit_id, status=ValueFitStatus.RUNNING).update(stage=stage, progress=percent)

    try:
        done = customer_value_fit(
            calibration_end=fit.calibration_end,
            holdout_end=fit.holdout_end,
            horizon_weeks=fit.horizon_weeks,
            pareto=pareto,
            actor=fit.created_by,
            fit=fit,
            progress=progress,
        )
    except Exception as exc:
        ValueFit.objects.filter(pk=fit_id).update(
            status=ValueFitStatus.FAILED, stage="", progress=100, reason=f"the fit stopped with an error: {exc}"
        )
        raise
    return done.status
