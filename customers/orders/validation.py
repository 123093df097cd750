"""Checking an order file chunk by chunk: numbers, dates, what each line is. Pure (pandas), no database.

Reuses the customer import's number parsing, stripping and problem messages. Each problem names row,
column and value ("row 17, column Quantity: 'abc' is not a number").

* Dates: the format is chosen on the first values from `DATE_FORMATS` (month first, as Online Retail's
  `12/1/2010 8:26`, unless `day_first`; `19970101`; ISO with or without time) and every cell must
  parse with it. Times are in the site's time zone (TIME_ZONE).
* Quantity: a number, 1 when the file has no quantity column; unit price: a number, or the amount
  divided by the quantity; amount: a number, or quantity times unit price.
* A line without an order id belongs to the order of its customer and day (`order_id_for_day`).
* Marks: a return (negative quantity, or an order id starting with C followed by a digit: a
  cancellation invoice) and a non-product line (its code in `non_product`, compared in upper case).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from customers.imports.validation import RejectedRow, _numbers
from customers.orders.columns import ORDER_FIELDS, OrderPlan

ID_MAX_LENGTH = 64
TEXT_MAX_LENGTH = 255
#: Tried in this order on the first values; the day-first ones come first with `day_first`.
MONTH_FIRST = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%m/%d/%y %H:%M", "%m/%d/%y")
DAY_FIRST = (
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y",
    "%d/%m/%y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d-%m-%Y",
)
OTHER = ("%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d")
_SAMPLE = 2000
#: An order id of a cancellation invoice: C followed by a digit.
CANCELLATION = r"^[Cc]\d"
LINE_COLUMNS = ("row", *ORDER_FIELDS, "is_return", "is_cancellation", "is_non_product")


def date_formats(day_first: bool) -> tuple[str, ...]:
    return (*OTHER, *DAY_FIRST, *MONTH_FIRST) if day_first else (*OTHER, *MONTH_FIRST, *DAY_FIRST)


@dataclass
class LineChecker:
    """Validates chunks of one file; remembers the date format chosen on the first chunk."""

    plan: OrderPlan
    day_first: bool = False
    non_product: frozenset[str] = frozenset()
    time_zone: str = "UTC"
    date_format: str | None = None
    formats_tried: tuple[str, ...] = field(default_factory=tuple)

    def check(self, frame: pd.DataFrame, first_row: int) -> tuple[pd.DataFrame, list[RejectedRow]]:
        """The valid lines (LINE_COLUMNS, typed) and the rejected ones of one chunk."""
        plan = self.plan
        width = len(plan.headers)
        for col in range(frame.shape[1], width):
            frame[col] = ""
        rows = frame.attrs.get("rows")
        rows = (
            np.asarray(rows)
            if rows is not None and len(rows) == len(frame)
            else np.arange(first_row, first_row + len(frame))
        )
        problems: dict[int, list[str]] = {}

        def flag(mask: np.ndarray, name: str, message) -> None:  # noqa: ANN001
            header = plan.header_of(name)
            for pos in np.flatnonzero(mask):
                problems.setdefault(int(pos), []).append(f"row {rows[pos]}, column {header}: {message(pos)}")

        def text(name: str) -> tuple[np.ndarray, np.ndarray]:
            """A column's distinct stripped values and each cell's index into them (checks run once per value)."""
            if name not in plan.fields:
                return np.array([""], dtype=object), np.zeros(len(frame), dtype=np.intp)
            codes, uniques = pd.factorize(frame[plan.fields[name]])
            distinct = np.append(pd.Series(uniques, dtype=object).str.strip().to_numpy(dtype=object), "")
            return distinct, np.where(codes < 0, len(distinct) - 1, codes)  # an empty cell is ""

        def sliced(distinct: np.ndarray, limit: int) -> np.ndarray:
            return pd.Series(distinct, dtype=object).str.slice(0, limit).to_numpy(dtype=object)

        frame = frame.reset_index(drop=True)
        out = pd.DataFrame({"row": rows})
        cancellation = np.zeros(len(frame), dtype=bool)
        for name, limit in (
            ("order_id", ID_MAX_LENGTH),
            ("customer_id", ID_MAX_LENGTH),
            ("product_code", ID_MAX_LENGTH),
        ):
            distinct, codes = text(name)
            values = distinct[codes]
            if name in plan.fields:
                lengths = np.fromiter((len(v) for v in distinct), dtype=np.int64, count=len(distinct))
                long = (lengths > limit)[codes]
                flag(long, name, lambda pos, v=values, n=limit: f"{v[pos]!r} is longer than {n} characters")
            if name == "order_id":
                cancelled = pd.Series(distinct, dtype=object).str.match(CANCELLATION, na=False)
                cancellation = cancelled.to_numpy(dtype=bool)[codes]
            out[name] = values
        distinct, codes = text("description")
        out["description"] = sliced(distinct, TEXT_MAX_LENGTH)[codes]
        distinct, codes = text("country")
        out["country"] = sliced(distinct, 64)[codes]

        numbers: dict[str, np.ndarray] = {}
        for name in ("quantity", "unit_price", "amount"):
            if name not in plan.fields:
                continue
            raw = frame[plan.fields[name]].fillna("")
            values, bad = _numbers(raw)
            flag(bad, name, lambda pos, r=raw: f"{r.iat[pos].strip()!r} is not a number")
            empty = values.isna().to_numpy() & ~bad
            flag(empty, name, lambda pos: "the value is empty")
            numbers[name] = values.to_numpy()
        out["quantity"], out["unit_price"], out["amount"] = line_amounts(numbers, len(frame))

        distinct, codes = text("ordered_at")
        dates_raw = pd.Series(distinct[codes], dtype=object)
        parsed = self.dates_parse(dates_raw)
        empty_date = (dates_raw == "").to_numpy()
        flag(empty_date, "ordered_at", lambda pos: "the date is empty")
        bad_date = parsed.isna().to_numpy() & ~empty_date
        found = self.date_format or "none of the known formats fits"
        hint = "day first" if self.day_first else "month first; --day-first for 1/12/2010 as 1 December"
        flag(
            bad_date,
            "ordered_at",
            lambda pos: f"{dates_raw.iat[pos]!r} is not a date in the file's format ({found}, {hint})",
        )
        out["ordered_at"] = parsed

        codes = out["product_code"]
        out["is_cancellation"] = cancellation
        out["is_return"] = (out["quantity"].to_numpy() < 0) | out["is_cancellation"].to_numpy()
        upper_codes = pd.Series(pd.unique(codes), dtype=object)
        marked = dict(zip(upper_codes, upper_codes.str.upper().isin(self.non_product), strict=True))
        out["is_non_product"] = codes.map(marked).fillna(False).astype(bool).to_numpy()

        rejected: list[RejectedRow] = []
        if problems:
            bad_rows = np.zeros(len(frame), dtype=bool)
            bad_rows[list(problems)] = True
            for pos in sorted(problems):
                cells = [str(c) for c in frame.iloc[pos].tolist()[:width]]
                rejected.append((int(rows[pos]), cells, "; ".join(problems[pos])))
            out = out[~bad_rows].reset_index(drop=True)
        empty_order = out["order_id"] == ""
        if empty_order.any():
            out.loc[empty_order, "order_id"] = order_id_for_day(out.loc[empty_order])
        return out, rejected

    def date_format_choose(self, raw: pd.Series) -> None:
        """Choose the file's date format on the first non-empty values of `raw` (stripped cells, in line order)."""
        if self.date_format is None:
            sample = raw[raw != ""].head(_SAMPLE)
            if len(sample):
                self.date_format = self._format_choose(sample)

    def dates_parse(self, raw: pd.Series) -> pd.Series:
        """Stripped date cells as times in the site's time zone (NaT where they do not fit the file's format)."""
        self.date_format_choose(raw)
        if self.date_format is None:
            parsed = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
        else:
            codes, uniques = pd.factorize(raw)
            distinct = pd.to_datetime(pd.Series(uniques, dtype=object), format=self.date_format, errors="coerce")
            parsed = pd.Series(distinct.to_numpy()[codes], index=raw.index)
            parsed[codes < 0] = pd.NaT
        standard_time = np.zeros(len(parsed), dtype=bool)  # an hour that happens twice: the later one
        return parsed.dt.tz_localize(self.time_zone, ambiguous=standard_time, nonexistent="shift_forward")

    def _format_choose(self, sample: pd.Series) -> str | None:
        self.formats_tried = date_formats(self.day_first)
        for fmt in self.formats_tried:
            if pd.to_datetime(sample, format=fmt, errors="coerce").notna().all():
                return fmt
        return None


def line_amounts(numbers: dict[str, np.ndarray], count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantity, unit price and amount of `count` lines from the number columns the file has: quantity 1 when
    it has none; a unit price missing is the amount divided by the quantity (none for a zero quantity: NaN); an
    amount missing is quantity times unit price."""
    quantity = numbers.get("quantity", np.ones(count))
    if "amount" in numbers:
        amount = numbers["amount"]
        with np.errstate(divide="ignore", invalid="ignore"):
            unit_price = numbers.get("unit_price", np.where(quantity != 0, amount / quantity, np.nan))
    else:
        unit_price = numbers["unit_price"]
        amount = quantity * unit_price
    return quantity, np.where(np.isfinite(unit_price), unit_price, np.nan), amount


def order_id_for_day(lines: pd.DataFrame) -> pd.Series:
    """The order of a line without an order id: its customer's orders of that day are one ('<customer>@<date>')."""
    days = lines["ordered_at"].dt.strftime("%Y-%m-%d")
    customers = lines["customer_id"].where(lines["customer_id"] != "", "(no customer)")
    return (customers + "@" + days).str.slice(0, ID_MAX_LENGTH)
