"""Order lines -> a customer x product matrix (pure: pandas / numpy / scipy).

Input frames have the canonical columns ``customer``, ``product``, ``date`` and optionally
``quantity``. A cell counts the distinct days on which the customer bought the product (a repeat
purchase counts, a big quantity on one day does not dominate); a second matrix of the same shape keeps
the day of the latest purchase, for popularity over a recent window.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from segmentation.ml.errors import EngineInputError

COLUMNS = ("customer", "product", "date")
EPOCH = np.datetime64("1970-01-01", "D")


@dataclass
class Interactions:
    """``matrix[i, j]``: distinct purchase days of customer ``customers[i]`` for product ``products[j]``."""

    matrix: sparse.csr_matrix  # float32 counts
    last_day: sparse.csr_matrix  # int32 days since 1970-01-01 of the latest purchase, same sparsity
    customers: np.ndarray  # row labels
    products: np.ndarray  # column labels

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)

    def binary(self) -> sparse.csr_matrix:
        out = self.matrix.copy()
        out.data[:] = 1.0
        return out

    def rows_of(self, customers: Iterable) -> np.ndarray:
        """Row index of each customer, -1 for a customer unknown to the matrix."""
        index = pd.Index(self.customers)
        return index.get_indexer(list(customers))


def check_frame(frame: pd.DataFrame) -> None:
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise EngineInputError(f"order lines: missing column(s) {', '.join(missing)}; got {list(frame.columns)}")


def day_numbers(dates: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 of each date (a datetime or a date), as int32."""
    values = pd.to_datetime(dates).to_numpy(dtype="datetime64[D]")
    return (values - EPOCH).astype(np.int32)


def build_interactions(
    frame: pd.DataFrame,
    *,
    customers: Sequence | None = None,
    products: Sequence | None = None,
) -> Interactions:
    """The matrix of ``frame``; rows and columns are the given labels (sorted uniques of the frame by default).

    Lines whose customer or product is not among the given labels are left out, so a training matrix
    and a test frame share one product axis.
    """
    check_frame(frame)
    cust_index = pd.Index(np.sort(frame["customer"].unique()) if customers is None else np.asarray(customers))
    prod_index = pd.Index(np.sort(frame["product"].unique()) if products is None else np.asarray(products))
    rows = cust_index.get_indexer(frame["customer"])
    cols = prod_index.get_indexer(frame["product"])
    days = day_numbers(frame["date"])
    keep = (rows >= 0) & (cols >= 0)
    pairs = pd.DataFrame({"r": rows[keep], "c": cols[keep], "d": days[keep]})
    grouped = pairs.groupby(["r", "c"], sort=True)["d"].agg(["nunique", "max"])
    r = grouped.index.get_level_values(0).to_numpy()
    c = grouped.index.get_level_values(1).to_numpy()
    shape = (len(cust_index), len(prod_index))
    counts = sparse.csr_matrix((grouped["nunique"].to_numpy(np.float32), (r, c)), shape=shape)
    last = sparse.csr_matrix((grouped["max"].to_numpy(np.int32), (r, c)), shape=shape)
    counts.sort_indices()
    last.sort_indices()
    return Interactions(counts, last, cust_index.to_numpy(), prod_index.to_numpy())


def clean_order_lines(
    frame: pd.DataFrame,
    *,
    non_product_codes: Iterable[str] = (),
) -> pd.DataFrame:
    """Purchases only: lines with a customer, not cancelled, positive quantity and price, a product code.

    Accepts canonical columns plus the optional ``order`` (an order id; C-invoices are
    cancellations), ``price``, ``is_cancellation`` and ``is_non_product`` flags.
    """
    check_frame(frame)
    keep = frame["customer"].notna() & frame["product"].notna()
    if "order" in frame.columns:
        keep &= ~frame["order"].astype(str).str.upper().str.startswith("C")
    if "is_cancellation" in frame.columns:
        keep &= ~frame["is_cancellation"].astype(bool)
    if "is_non_product" in frame.columns:
        keep &= ~frame["is_non_product"].astype(bool)
    if "quantity" in frame.columns:
        keep &= frame["quantity"] > 0
    if "price" in frame.columns:
        keep &= frame["price"] > 0
    codes = {str(c).upper() for c in non_product_codes}
    if codes:
        keep &= ~frame["product"].astype(str).str.upper().isin(codes)
    return frame.loc[keep].reset_index(drop=True)


def split_by_date(frame: pd.DataFrame, start) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lines before ``start`` and lines from ``start`` on."""
    dates = pd.to_datetime(frame["date"])
    start = pd.Timestamp(start)
    if dates.dt.tz is not None and start.tz is None:
        start = start.tz_localize(dates.dt.tz)
    before = (dates < start).to_numpy()
    return frame.loc[before].reset_index(drop=True), frame.loc[~before].reset_index(drop=True)
