"""Per-customer repeat-purchase summary (x, t_x, T, monetary value) from a transactions table.

Conventions of the reference literature (Fader, Hardie & Lee 2005; the CDNOW examples):

* purchases on the same calendar day collapse into one purchase (their amounts are summed);
* ``x`` is the number of *repeat* purchase days in the calibration period (first purchase excluded);
* ``t_x`` is the time from the first to the last purchase, ``T`` from the first purchase to the end of
  calibration, both in weeks (days / 7; ``time_unit_days`` changes the unit);
* ``monetary_value`` is the mean spend of the repeat purchase days (Gamma-Gamma convention); 0 when x = 0;
* ``holdout`` (when an observation end after the calibration end is given) counts the purchase days in
  (calibration end, observation end]; customers whose first purchase is after calibration are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segmentation.ml.errors import EngineInputError

SUMMARY_COLUMNS = ("x", "t_x", "T", "monetary_value")


def _day(value, name: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise EngineInputError(f"{name}: not a date: {value!r}") from exc
    if pd.isna(stamp):
        raise EngineInputError(f"{name}: not a date: {value!r}")
    return stamp.normalize()


def clv_summary(
    transactions: pd.DataFrame,
    *,
    calibration_end,
    observation_end=None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = "amount",
    time_unit_days: float = 7.0,
) -> pd.DataFrame:
    """One row per customer (index: customer id) with x, t_x, T, monetary_value and, if asked, holdout.

    Raises `EngineInputError` naming the column and the first bad value when a column is missing, a
    date does not parse or an amount is not a number.
    """
    needed = [customer_col, date_col] + ([amount_col] if amount_col else [])
    missing = [c for c in needed if c not in transactions.columns]
    if missing:
        raise EngineInputError(f"transactions: missing column(s) {', '.join(missing)}")
    cal_end = _day(calibration_end, "calibration_end")
    obs_end = _day(observation_end, "observation_end") if observation_end is not None else cal_end
    if obs_end < cal_end:
        raise EngineInputError(f"observation_end: {obs_end.date()} is before calibration_end {cal_end.date()}")

    dates = pd.to_datetime(transactions[date_col], errors="coerce")
    bad = dates.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise EngineInputError(f"row {row}: column {date_col}: not a date: {transactions[date_col].iloc[row]!r}")
    frame = pd.DataFrame({"customer": transactions[customer_col].to_numpy(), "day": dates.dt.normalize().to_numpy()})
    if amount_col:
        amounts = pd.to_numeric(transactions[amount_col], errors="coerce")
        bad = amounts.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise EngineInputError(
                f"row {row}: column {amount_col}: not a number: {transactions[amount_col].iloc[row]!r}"
            )
        frame["amount"] = amounts.to_numpy(dtype=float)
    else:
        frame["amount"] = 0.0

    frame = frame[frame["day"] <= obs_end]
    days = frame.groupby(["customer", "day"], sort=True, observed=True)["amount"].sum().reset_index()
    in_cal = days[days["day"] <= cal_end]
    grouped = in_cal.groupby("customer", sort=True)
    first = grouped["day"].min()
    last = grouped["day"].max()
    count = grouped["day"].size()
    total = grouped["amount"].sum()
    unit = np.timedelta64(1, "D") * time_unit_days
    first_amount = in_cal.drop_duplicates("customer", keep="first").set_index("customer")["amount"]
    x = (count - 1).astype(np.int64)
    repeat_spend = total - first_amount.reindex(total.index)
    monetary = np.where(x > 0, repeat_spend / x.where(x > 0, 1), 0.0)
    out = pd.DataFrame(
        {
            "x": x,
            "t_x": (last - first) / unit,
            "T": (cal_end - first) / unit,
            "monetary_value": monetary,
        }
    )
    out.index.name = customer_col
    if observation_end is not None:
        later = days[days["day"] > cal_end]
        out["holdout"] = later.groupby("customer").size().reindex(out.index, fill_value=0).astype(np.int64)
        out.attrs["holdout_length"] = (obs_end - cal_end) / unit
    return out
