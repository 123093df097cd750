"""Checking a customer file chunk by chunk: values, duplicates, attribute kinds, rejected rows.
Pure (pandas), no database.

* Gender: Female/F/2 -> female, Male/M/1 -> male (the ISO/IEC 5218 codes: 1 = male,
  2 = female, 0 = unknown, 9 = not applicable), Other/X/Diverse -> other, Unknown/U/N/A and
  empty -> unknown.
* Ranges: age a whole number 0-120, annual income (k$) 0 to 1e12 (ANNUAL_INCOME_MAX: beyond it a value is a
  typing error, and a run or the assignment of new customers would lose precision), spending score 1-100.
* Empty cells are stored as missing. Ids are text: "0001" stays "0001".
* Lengths: an id at most EXTERNAL_ID_MAX_LENGTH (64) characters, a text attribute at most
  ATTRIBUTE_TEXT_MAX_LENGTH (1,000), a gender or number cell at most FIELD_TEXT_MAX_LENGTH (100).
  Messages show at most 40 characters of a value, with its length (`table.value_shown`).
* Attribute kinds: number when every non-empty value is a number, date when every
  non-empty value is an ISO date (YYYY-MM-DD, optionally with a time), text otherwise. A digit string
  of 16 digits or more (an id, a card or account number: beyond float64's exact integers) makes its
  column text, so "12345678901234567890" is kept as written, never rounded.
* Number attributes are bounded: finite and below NUMBER_ATTRIBUTE_MAX (1e15) in size. In a column
  that is numeric (in this chunk, every other value a number), a value such as 1e308, -2.5e20 or inf
  rejects its row: "row 7, column Balance: '1e308' is out of range: ...". Every stored number is
  then exact as a float64 and fits an int64, for the runs and the assignment of new customers.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.csvsafe import safe_row, write_csv
from customers.imports.columns import CANONICAL_FIELDS, EXTERNAL_ID_MAX_LENGTH, ColumnPlan
from customers.imports.table import value_shown

# The largest annual income accepted (module doc): far below where float64 or int64 lose precision.
ANNUAL_INCOME_MAX = 10**12
# Number attributes: |value| < NUMBER_ATTRIBUTE_MAX (module doc); integers below it are exact in float64.
NUMBER_ATTRIBUTE_MAX = 10**15
# A digit string this long is an identifier (card, account, phone number), kept as text (module doc).
_LONG_DIGITS = r"[+-]?\d{16,}"

# Lower-cased cell value -> normalised gender. 1/2 follow ISO/IEC 5218 (1 = male, 2 = female).
GENDER_VALUES: dict[str, str] = {
    "female": "female",
    "f": "female",
    "woman": "female",
    "2": "female",
    "male": "male",
    "m": "male",
    "man": "male",
    "1": "male",
    "other": "other",
    "o": "other",
    "x": "other",
    "diverse": "other",
    "non-binary": "other",
    "nonbinary": "other",
    "unknown": "unknown",
    "u": "unknown",
    "0": "unknown",
    "9": "unknown",
    "n/a": "unknown",
    "na": "unknown",
    "": "unknown",
}
GENDER_HELP = "Female/F/2, Male/M/1, Other/X or Unknown/U"
_ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
MAX_PROBLEMS_SHOWN = 10
ATTRIBUTE_TEXT_MAX_LENGTH = 1000
FIELD_TEXT_MAX_LENGTH = 100
RejectedRow = tuple[int, list[str], str]  # (row number, raw cells, reason)


@dataclass
class KindTracker:
    """Infers number / date / text per attribute column over all chunks."""

    number: dict[str, bool] = field(default_factory=dict)
    date: dict[str, bool] = field(default_factory=dict)
    seen: dict[str, bool] = field(default_factory=dict)

    def update(self, key: str, text: pd.Series) -> None:
        """Feed the stripped cells ("" for empty) of the valid rows of one chunk."""
        values = pd.Series(text.unique(), dtype=object)
        values = values[values != ""]
        if not len(values):
            self.seen.setdefault(key, False)
            return
        self.seen[key] = True
        if self.number.get(key, True):
            self.number[key] = not _numbers(values)[1].any() and not values.str.fullmatch(_LONG_DIGITS).any()
        if self.date.get(key, True):
            ok = values.str.fullmatch(_ISO_DATE).all()
            if ok:
                ok = pd.to_datetime(values, format="ISO8601", errors="coerce").notna().all()
            self.date[key] = bool(ok)

    def kind(self, key: str) -> str | None:
        """'number', 'date', 'text', or None when the column had no value at all."""
        if not self.seen.get(key):
            return None
        if self.number.get(key, True):
            return "number"
        if self.date.get(key, True):
            return "date"
        return "text"


CLEAN_COLUMNS = ("row", *CANONICAL_FIELDS)


@dataclass
class ChunkResult:
    """The valid rows as text, ready to be written, and the rejected rows.

    `clean` has the columns CLEAN_COLUMNS then a_0 .. a_n (one per attribute column): the id
    and attributes stripped, gender normalised, numbers as validated text ("" for missing),
    so a writer can stream them and convert with `number_value` (or a SQL cast).
    """

    clean: pd.DataFrame
    rejected: list[RejectedRow]


def number_value(text: str) -> float | int | None:
    """The value of a validated number cell: an int when whole, None when empty."""
    if not text or not text.strip():
        return None
    value = float(text)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def chunk_validate(
    frame: pd.DataFrame,
    first_row: int,
    plan: ColumnPlan,
    seen_ids: dict[str, int],
    kinds: KindTracker,
) -> ChunkResult:
    """Validate one chunk. Problems are collected per row ("row 17, column Age: 'abc' is not a number").

    `seen_ids` (external id -> row) spans the whole file, to name both rows of a duplicated id.
    Only vectorised pandas operations run over all rows; Python loops touch the bad rows only
    (and the ids, once, for duplicates).
    """
    width = len(plan.headers)
    for col in range(frame.shape[1], width):
        frame[col] = ""
    rows = frame.attrs.get("rows")
    if rows is None or len(rows) != len(frame):
        rows = np.arange(first_row, first_row + len(frame))
    if plan.id_prefix:
        # numbered rows: skip the blank ones, then each id is the prefix and the row number
        blank = (frame.apply(lambda s: s.str.strip()) == "").all(axis=1).to_numpy()
        if blank.any():
            frame = frame[~blank].reset_index(drop=True)
            rows = rows[~blank]
        ids = pd.Series(np.char.add(plan.id_prefix, rows.astype(str)).astype(object))
    else:
        ids = _strip(frame[plan.fields["external_id"]])
    empty_id = (ids == "").to_numpy()
    if empty_id.any():
        # rows with no value at all (",,,," lines) are skipped, not rejected
        blank = np.zeros(len(frame), dtype=bool)
        blank[empty_id] = (frame[empty_id].apply(lambda s: s.str.strip()) == "").all(axis=1).to_numpy()
        if blank.any():
            keep = ~blank
            frame = frame[keep].reset_index(drop=True)
            ids = ids[keep].reset_index(drop=True)
            rows = rows[keep]
            empty_id = empty_id[keep]
    problems, frame = _long_cells(frame, plan, rows)

    def flag(mask: np.ndarray, column: str, message: Any) -> None:
        for pos in np.flatnonzero(mask):
            problems.setdefault(int(pos), []).append(f"row {rows[pos]}, column {column}: {message(pos)}")

    clean: dict[str, Any] = {"row": rows}

    # external_id
    id_header = plan.header_of("external_id")
    flag(empty_id, id_header, lambda pos: "the id is empty")
    too_long = (ids.str.len() > EXTERNAL_ID_MAX_LENGTH).to_numpy()
    flag(
        too_long,
        id_header,
        lambda pos: f"{value_shown(ids.iat[pos])} is longer than {EXTERNAL_ID_MAX_LENGTH} characters",
    )
    id_list = ids.tolist()
    row_list = rows.tolist()
    fresh = dict(zip(id_list, row_list, strict=True))
    if len(fresh) == len(id_list) and not empty_id.any() and seen_ids.keys().isdisjoint(fresh):
        seen_ids.update(fresh)  # the usual case, at C speed: no id repeated
    else:
        for pos, (value, row) in enumerate(zip(id_list, row_list, strict=True)):
            if value:
                first = seen_ids.setdefault(value, row)
                if first != row:
                    problems.setdefault(pos, []).append(
                        f"row {row}, column {id_header}: {value!r} is a duplicate of row {first}"
                    )
    del fresh
    clean["external_id"] = id_list

    # gender: map the few distinct values, not every cell
    if "gender" in plan.fields:
        header = plan.header_of("gender")
        raw = frame[plan.fields["gender"]]
        codes, uniques = pd.factorize(raw)
        mapped = np.array([GENDER_VALUES.get(str(u).strip().lower()) for u in uniques] + ["unknown"], dtype=object)
        genders = mapped[codes]  # code -1 (none here: no NaN) would pick "unknown"
        bad = pd.isna(genders)
        flag(bad, header, lambda pos: f"{raw.iat[pos]!r} is not a gender (use {GENDER_HELP})")
        clean["gender"] = genders
    else:
        clean["gender"] = np.full(len(frame), "unknown", dtype=object)

    # numbers: validated here, written as their text
    for name, low, high, whole in (
        ("age", 0, 120, True),
        ("annual_income", 0, ANNUAL_INCOME_MAX, False),
        ("spending_score", 1, 100, False),
    ):
        if name not in plan.fields:
            clean[name] = np.full(len(frame), "", dtype=object)
            continue
        header = plan.header_of(name)
        raw = frame[plan.fields[name]]
        values, bad = _numbers(raw)
        flag(bad, header, lambda pos, raw=raw: f"{raw.iat[pos]!r} is not a number")
        array = values.to_numpy()
        ok = ~np.isnan(array)
        if whole:
            fractional = ok & (np.mod(array, 1, where=ok, out=np.zeros_like(array)) != 0)
            flag(fractional, header, lambda pos, raw=raw: f"{raw.iat[pos]!r} is not a whole number")
        with np.errstate(invalid="ignore"):
            out_of_range = ok & (array < low)
            if high is not None:
                out_of_range |= ok & (array > high)
        allowed = f"between {low} and {high}" if high is not None else f"at least {low}"
        flag(
            out_of_range,
            header,
            lambda pos, raw=raw, allowed=allowed: f"{raw.iat[pos]!r} is out of range: must be {allowed}",
        )
        clean[name] = raw.to_numpy() if ok.all() else np.where(ok, raw.to_numpy(), "")

    texts = [text_column(frame[attr.index]) for attr in plan.attributes]
    for attr, text in zip(plan.attributes, texts, strict=True):
        if kinds.number.get(attr.key, True):
            flag(_numbers_out_of_range(text), attr.header, lambda pos, text=text: _OUT_OF_RANGE.format(text.iat[pos]))

    valid = np.ones(len(frame), dtype=bool)
    if problems:
        valid[list(problems)] = False

    for i, (attr, text) in enumerate(zip(plan.attributes, texts, strict=True)):
        kinds.update(attr.key, text[valid] if problems else text)
        clean[f"a_{i}"] = text.to_numpy()

    out = pd.DataFrame(clean)
    rejected: list[RejectedRow] = []
    if problems:
        for pos in sorted(problems):
            rejected.append((int(rows[pos]), frame.iloc[pos, :width].tolist(), "; ".join(problems[pos])))
        out = out[valid].reset_index(drop=True)
    return ChunkResult(clean=out, rejected=rejected)


_OUT_OF_RANGE = "{!r} is out of range: a number must be finite and between -1e15 and 1e15 (exclusive)"


def _numbers_out_of_range(text: pd.Series) -> np.ndarray:
    """The cells of a numeric attribute column that are numbers out of bounds (inf, 1e308, |x| >= 1e15).

    Only when the column is numeric in this chunk (every non-empty cell a number or such an extreme one,
    and no long digit string, which makes it text): in a text column "inf" or "1e20" are just text."""
    codes, uniques = pd.factorize(text)
    distinct = pd.Series(uniques, dtype=object)
    filled = (distinct != "").to_numpy()
    if not filled.any():
        return np.zeros(len(text), dtype=bool)
    sample = distinct[filled][:50]  # a text column shows it at once: no need to parse all of it
    if pd.to_numeric(sample, errors="coerce").isna().any():
        return np.zeros(len(text), dtype=bool)
    parsed = pd.to_numeric(distinct, errors="coerce").astype("float64").to_numpy()
    with np.errstate(invalid="ignore"):
        extreme = filled & (np.isinf(parsed) | (np.abs(parsed) >= NUMBER_ATTRIBUTE_MAX))
    if not extreme.any():
        return np.zeros(len(text), dtype=bool)
    number = ~np.isnan(parsed)
    if not number[filled].all() or distinct[filled].str.fullmatch(_LONG_DIGITS).any():
        return np.zeros(len(text), dtype=bool)  # a text column (or an identifier one): kept as text
    return extreme[codes]


def _long_cells(frame: pd.DataFrame, plan: ColumnPlan, rows: np.ndarray) -> tuple[dict[int, list[str]], pd.DataFrame]:
    """Problems of the cells longer than their column allows (ids are checked with the ids), and the
    frame with those cells emptied, so that no later message repeats them (their rows are rejected)."""
    problems: dict[int, list[str]] = {}
    copied = False
    limits = [(plan.fields[name], FIELD_TEXT_MAX_LENGTH) for name in plan.fields if name != "external_id"]
    limits += [(attr.index, ATTRIBUTE_TEXT_MAX_LENGTH) for attr in plan.attributes]
    for index, limit in limits:
        if index >= frame.shape[1]:
            continue
        column = frame[index]
        lengths = column.str.len().to_numpy()
        if not (lengths > limit).any():
            continue
        header = plan.headers[index]
        for pos in np.flatnonzero(lengths > limit):
            value = column.iat[pos]
            problems.setdefault(int(pos), []).append(
                f"row {rows[pos]}, column {header}: {value_shown(value)} is longer than {limit:,} characters"
            )
        if not copied:
            frame, copied = frame.copy(), True
        frame[index] = column.where(lengths <= limit, "")
    return problems, frame


def _numbers(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse numbers (surrounding blanks allowed): (float Series, NaN for empty or bad; mask of bad cells).

    Parses each distinct value once: customer columns (age, score, counts) repeat a lot.
    """
    codes, uniques = pd.factorize(raw)
    if len(uniques) > len(raw) // 2:
        values = pd.to_numeric(raw, errors="coerce").astype("float64").to_numpy()
        blank = None
    else:
        distinct = pd.Series(uniques, dtype=object)
        parsed = pd.to_numeric(distinct, errors="coerce").astype("float64").to_numpy()
        values = parsed[codes]
        blank = (distinct.str.strip() == "").to_numpy()[codes] if not np.isfinite(parsed).all() else None
    finite = np.isfinite(values)
    if finite.all():
        return pd.Series(values, index=raw.index), np.zeros(len(values), dtype=bool)
    if blank is None:
        blank = (raw.str.strip() == "").to_numpy()
    values = np.where(finite, values, np.nan)
    return pd.Series(values, index=raw.index), ~blank & ~finite


def numbers_median(raw: pd.Series) -> float | None:
    """The median of a column's number cells (text and empty cells left out); None when it has none."""
    values = _numbers(raw)[0].dropna()
    return float(values.median()) if len(values) else None


def _strip(raw: pd.Series) -> pd.Series:
    """Strip blanks around cells, touching the column only when some cell has them."""
    values = raw.tolist()
    joined = "\x00" + "\x00".join(values) + "\x00"
    if not any(marker in joined for marker in (" \x00", "\x00 ", "\t\x00", "\x00\t")):
        return raw
    return raw.str.strip()


def text_column(raw: pd.Series) -> pd.Series:
    """Stripped text of an attribute column, computed once per distinct value."""
    codes, uniques = pd.factorize(raw)
    if len(uniques) > len(raw) // 2:
        return _strip(raw)
    stripped = pd.Series(uniques, dtype=object).str.strip().to_numpy()
    return pd.Series(stripped[codes], index=raw.index)


def rejected_header(plan: ColumnPlan) -> list[str]:
    return ["row", *plan.headers, "reason"]


def rejected_csv(plan: ColumnPlan, rejected: list[RejectedRow]) -> str:
    """The rejected rows as CSV (formula-safe): the file's columns, with the row number and the reason."""
    if not rejected:
        return ""
    buffer = io.StringIO()
    write_csv(buffer, rejected_header(plan), ([row, *cells, reason] for row, cells, reason in rejected))
    return buffer.getvalue()


class RejectedRows:
    """The rejected rows of an import, streamed to a CSV file as they come (formula-safe, with the row
    number and the reason), never held in memory: only the first SAMPLE_ROWS are kept, for messages.

    With `folder` None nothing is written (an import that stops at the first invalid row needs only
    the sample). `path` is the written file (a temporary name in `folder`) once `close()` was called;
    the caller moves it where it belongs or calls `discard()`.
    """

    SAMPLE_ROWS = 20

    def __init__(self, plan: ColumnPlan, *, folder: Path | None) -> None:
        self.count = 0
        self.sample: list[RejectedRow] = []
        self.path: Path | None = None
        self._fh: Any = None
        self._writer: Any = None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix="rejected-", suffix=".csv.part", dir=folder)
            self.path = Path(name)
            self._fh = os.fdopen(fd, "w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._fh)
            self._writer.writerow(safe_row(rejected_header(plan)))

    def add(self, rows: list[RejectedRow]) -> None:
        self.count += len(rows)
        room = self.SAMPLE_ROWS - len(self.sample)
        if room > 0:
            self.sample.extend(rows[:room])
        if self._writer is not None:
            self._writer.writerows(safe_row([row, *cells, reason]) for row, cells, reason in rows)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = self._writer = None

    def discard(self) -> None:
        self.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None


def problems_message(rejected: list[RejectedRow], count: int) -> str:
    """Why a file with `count` invalid rows was refused, naming the first MAX_PROBLEMS_SHOWN."""
    if count == 1:
        return f"{rejected[0][2]}. Nothing was imported."
    shown = "; ".join(reason for _, _, reason in rejected[:MAX_PROBLEMS_SHOWN])
    more = f"; and {count - MAX_PROBLEMS_SHOWN} more rows" if count > MAX_PROBLEMS_SHOWN else ""
    return (
        f"{count} rows have problems, so nothing was imported (fix them, or skip invalid rows to "
        f"import the valid ones): {shown}{more}."
    )
