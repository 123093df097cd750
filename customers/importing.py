"""Reading and validating a customer file: pure (pandas, openpyxl), no database.

The service `customers.services.customer_import` drives this module: it opens the file with
`table_open`, maps the headers with `columns_plan` and validates chunk after chunk with
`chunk_validate`, so a 1,000,000-row file is never held in memory as Python objects.

Conventions, shown to users in messages and documented in the README:

* Formats: CSV and TSV (delimiter detected among , ; tab |), Excel .xlsx (first sheet).
  Encodings: UTF-8, UTF-8 with BOM, Latin-1 (anything that is not valid UTF-8); CRLF or LF.
* Row numbers are the ones a spreadsheet shows: the header is row 1, the first data row is
  row 2. Blank lines are skipped and not counted (a CSV record spanning several lines in
  quotes counts as one row).
* Headers map to the canonical fields case and punctuation insensitively (`HEADER_ALIASES`).
  Every other column becomes a typed attribute under its header in snake_case.
* Gender: Female/F/2 -> female, Male/M/1 -> male (the ISO/IEC 5218 codes: 1 = male,
  2 = female, 0 = unknown, 9 = not applicable), Other/X/Diverse -> other, Unknown/U/N/A and
  empty -> unknown.
* Ranges: age a whole number 0-120, annual income (k$) >= 0, spending score 1-100.
* Empty cells are stored as missing. Ids are text: "0001" stays "0001".
* Attribute kinds: number when every non-empty value is a number, date when every
  non-empty value is an ISO date (YYYY-MM-DD, optionally with a time), text otherwise.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import IO, Any

import numpy as np
import pandas as pd

from core.exceptions import DataError

CANONICAL_FIELDS = ("external_id", "gender", "age", "annual_income", "spending_score")
EXTERNAL_ID_MAX_LENGTH = 64
ATTRIBUTE_KEY_MAX_LENGTH = 64
CHUNK_ROWS = 100_000
FIRST_DATA_ROW = 2  # the header is row 1

# Normalised header (lower case, letters and digits only) -> canonical field.
HEADER_ALIASES: dict[str, str] = {
    "customerid": "external_id",
    "id": "external_id",
    "externalid": "external_id",
    "customerno": "external_id",
    "customernumber": "external_id",
    "gender": "gender",
    "genre": "gender",
    "sex": "gender",
    "age": "age",
    "annualincomek": "annual_income",
    "annualincome": "annual_income",
    "income": "annual_income",
    "incomek": "annual_income",
    "spendingscore1100": "spending_score",
    "spendingscore": "spending_score",
    "score": "spending_score",
}

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

NOT_A_TABLE = "not a CSV, TSV or Excel file"
_DELIMITERS = (",", ";", "\t", "|")
_ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_SNIFF_BYTES = 64 * 1024


# --------------------------------------------------------------------------- headers


def header_normalize(header: str) -> str:
    """Case and punctuation insensitive form of a header: 'Annual Income (k$)' -> 'annualincomek'."""
    return re.sub(r"[^0-9a-z]", "", str(header).lower())


def header_snake_case(header: str) -> str:
    """The attribute key of a header: 'Detergents_Paper' -> 'detergents_paper', 'VisitCount' -> 'visit_count'."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(header).strip())
    text = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    return text[:ATTRIBUTE_KEY_MAX_LENGTH].rstrip("_")


def mapping_parse(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Parse `SOURCE=FIELD` overrides (the command's --map) into {source header: field}."""
    mapping: dict[str, str] = {}
    for item in items:
        source, sep, target = item.rpartition("=")
        if not sep or not source.strip() or not target.strip():
            raise DataError(f'--map: expected SOURCE=FIELD, e.g. "Client Ref=external_id"; got {item!r}')
        mapping[source.strip()] = target.strip()
    return mapping


@dataclass(frozen=True)
class AttributeColumn:
    index: int
    header: str
    key: str


@dataclass(frozen=True)
class ColumnPlan:
    """Which column of the file feeds which canonical field, and the attribute columns."""

    headers: tuple[str, ...]
    fields: dict[str, int]  # canonical field -> column index
    attributes: tuple[AttributeColumn, ...]

    def header_of(self, field_name: str) -> str:
        return self.headers[self.fields[field_name]]

    def as_mapping(self) -> dict[str, str]:
        """{header: target} for the record of the import (target is a field or 'attribute:key')."""
        out = {self.headers[i]: f for f, i in self.fields.items()}
        out.update({a.header: f"attribute:{a.key}" for a in self.attributes})
        return out


def columns_plan(headers: list[str], overrides: dict[str, str] | None = None) -> ColumnPlan:
    """Map headers to canonical fields (aliases, then overrides); the rest become attributes."""
    headers = [str(h).strip() if h is not None else "" for h in headers]
    headers = [h or f"column_{i + 1}" for i, h in enumerate(headers)]
    fields: dict[str, int] = {}
    for index, header in enumerate(headers):
        target = HEADER_ALIASES.get(header_normalize(header))
        if target is None:
            continue
        if target in fields:
            other = headers[fields[target]]
            raise DataError(
                f"columns {other!r} and {header!r} both look like {target}; choose one with "
                f'--map "{header}={target}" (or the {target} field of the upload form)'
            )
        fields[target] = index
    for source, target in (overrides or {}).items():
        if target not in CANONICAL_FIELDS:
            raise DataError(
                f"mapping {source!r}: the field must be one of {', '.join(CANONICAL_FIELDS)}; got {target!r}"
            )
        index = _header_find(headers, source)
        if index is None:
            raise DataError(
                f"mapping {source!r}={target}: the file has no column {source!r}; its columns are "
                + ", ".join(repr(h) for h in headers)
            )
        for f_name, f_index in list(fields.items()):
            if f_index == index or f_name == target:
                del fields[f_name]
        fields[target] = index
    if "external_id" not in fields:
        example = next((h for i, h in enumerate(headers) if i not in fields.values()), "Client Ref")
        raise DataError(
            "no id column: none of the columns ("
            + ", ".join(repr(h) for h in headers)
            + ") is a customer id (CustomerID, Customer ID, customer_id or ID). "
            f'Say which column holds the id: on the command line --map "{example}=external_id", '
            "on the upload page the 'Id column' field."
        )
    attributes: list[AttributeColumn] = []
    seen_keys: dict[str, str] = {}
    used = set(fields.values())
    for index, header in enumerate(headers):
        if index in used:
            continue
        key = header_snake_case(header) or f"column_{index + 1}"
        if key[0].isdigit():
            key = f"c_{key}"[:ATTRIBUTE_KEY_MAX_LENGTH]
        if key in seen_keys:
            raise DataError(
                f"columns {seen_keys[key]!r} and {header!r} would both be stored as attribute {key!r}; rename one"
            )
        seen_keys[key] = header
        attributes.append(AttributeColumn(index=index, header=header, key=key))
    return ColumnPlan(headers=tuple(headers), fields=fields, attributes=tuple(attributes))


def _header_find(headers: list[str], source: str) -> int | None:
    for index, header in enumerate(headers):
        if header == source:
            return index
    wanted = source.strip().lower()
    for index, header in enumerate(headers):
        if header.lower() == wanted:
            return index
    wanted = header_normalize(source)
    for index, header in enumerate(headers):
        if wanted and header_normalize(header) == wanted:
            return index
    return None


# --------------------------------------------------------------------------- reading


@dataclass
class Table:
    """An opened file: its header and an iterator of (first row number, DataFrame of str) chunks.

    Chunk columns are positions 0..n-1; cells are strings as in the file ("" for empty);
    `chunk_validate` strips and checks them. Call `close()` when done.
    """

    format: str  # "csv", "tsv" or "xlsx"
    encoding: str
    delimiter: str
    headers: list[str]
    chunks: Iterator[tuple[int, pd.DataFrame]]
    closers: list[Any] = field(default_factory=list)

    def close(self) -> None:
        """Release the reader (call before closing the file)."""
        for closer in self.closers:
            closer.close()


def table_open(fh: IO[bytes], *, chunk_rows: int = CHUNK_ROWS) -> Table:
    """Detect the format of a seekable binary file and return its header and data chunks.

    Raises DataError for an empty file and for anything that is not a table (a file with a
    header and no data rows opens fine and yields no chunks).
    """
    head = fh.read(_SNIFF_BYTES)
    fh.seek(0)
    if not head.strip():
        raise DataError("the file is empty")
    if head.startswith(b"PK\x03\x04"):
        return _xlsx_open(fh, chunk_rows=chunk_rows)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError("this is an old Excel .xls file; save it as .xlsx or CSV and import that")
    encoding = _encoding_detect(fh, head)
    text = head.decode(encoding, errors="ignore")
    if _looks_binary(head, text):
        raise DataError(NOT_A_TABLE)
    if not text.strip():
        raise DataError("the file is empty")
    delimiter = _delimiter_detect(text)
    reader = pd.read_csv(
        fh,
        sep=delimiter,
        header=None,
        dtype=str,
        na_filter=False,
        skip_blank_lines=True,
        encoding=encoding,
        encoding_errors="strict",
        chunksize=chunk_rows,
        engine="c",
        quotechar='"',
    )
    chunks = _csv_chunks(reader)
    try:
        first_row, first = next(chunks)
    except StopIteration:
        raise DataError("the file is empty") from None
    except DataError:
        chunks.close()
        raise
    headers = [h.strip() for h in first.iloc[0].tolist()]
    rest = first.iloc[1:]

    def all_chunks() -> Iterator[tuple[int, pd.DataFrame]]:
        if len(rest):
            yield FIRST_DATA_ROW, rest
        yield from chunks

    data = all_chunks()
    return Table(
        format="tsv" if delimiter == "\t" else "csv",
        encoding=encoding,
        delimiter=delimiter,
        headers=headers,
        chunks=data,
        closers=[data, chunks],
    )


def _csv_chunks(reader: Any) -> Iterator[tuple[int, pd.DataFrame]]:
    row = 1
    try:
        for chunk in reader:
            chunk = chunk.reset_index(drop=True)
            chunk.columns = range(chunk.shape[1])
            yield row, chunk
            row += len(chunk)
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            expected, line, saw = found.groups()
            raise DataError(f"line {line}: expected {expected} values like the header, found {saw}") from None
        raise DataError(f"{NOT_A_TABLE} ({str(exc).strip()})") from None
    except UnicodeDecodeError:
        raise DataError("the file mixes text encodings; save it as UTF-8 and import again") from None
    except pd.errors.EmptyDataError:
        return
    finally:
        try:
            reader.close()
        except (OSError, ValueError):
            pass


def _encoding_detect(fh: IO[bytes], head: bytes) -> str:
    """utf-8-sig with a BOM; utf-8 when the whole file decodes as UTF-8; latin-1 otherwise."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while block := fh.read(1 << 20):
            decoder.decode(block)
        decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        return "latin-1"
    finally:
        fh.seek(0)


def _looks_binary(head: bytes, text: str) -> bool:
    if b"\x00" in head:
        return True
    controls = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\r\n") or 0x7F <= ord(ch) < 0xA0)
    return controls > max(2, len(text) // 100)


def _delimiter_detect(text: str) -> str:
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut
    best, best_count = ",", 0
    for delimiter in _DELIMITERS:
        try:
            counts = [len(row) - 1 for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)]
        except csv.Error:
            continue
        if not counts or counts[0] == 0:
            continue
        consistent = all(c == counts[0] for c in counts)
        score = counts[0] * (2 if consistent else 1)
        if score > best_count:
            best, best_count = delimiter, score
    return best


def _xlsx_open(fh: IO[bytes], *, chunk_rows: int) -> Table:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(fh, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise DataError(NOT_A_TABLE) from None
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    row_number = 0
    headers: list[str] | None = None
    for values in rows:
        row_number += 1
        cells = [_xlsx_cell(v) for v in values]
        if any(cells):
            headers = cells
            break
    if headers is None:
        workbook.close()
        raise DataError("the file is empty")
    while headers and not headers[-1]:
        headers.pop()
    width = len(headers)

    def chunks() -> Iterator[tuple[int, pd.DataFrame]]:
        nonlocal row_number
        batch: list[list[str]] = []
        numbers: list[int] = []
        try:
            for values in rows:
                row_number += 1
                cells = [_xlsx_cell(v) for v in values]
                if not any(cells):
                    continue
                extra = [c for c in cells[width:] if c]
                if extra:
                    raise DataError(f"row {row_number}: has a value ({extra[0]!r}) right of the last header")
                cells = (cells + [""] * width)[:width]
                batch.append(cells)
                numbers.append(row_number)
                if len(batch) >= chunk_rows:
                    yield _xlsx_frame(batch, numbers, width)
                    batch, numbers = [], []
            if batch:
                yield _xlsx_frame(batch, numbers, width)
        finally:
            workbook.close()

    data = chunks()
    return Table(format="xlsx", encoding="", delimiter="", headers=headers, chunks=data, closers=[data, workbook])


def _xlsx_frame(batch: list[list[str]], numbers: list[int], width: int) -> tuple[int, pd.DataFrame]:
    frame = pd.DataFrame(batch, columns=range(width), dtype=str)
    frame.attrs["rows"] = np.asarray(numbers)
    return numbers[0], frame


def _xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


# --------------------------------------------------------------------------- validation


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
            self.number[key] = not _numbers(values)[1].any()
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


CLEAN_COLUMNS = ("row", "external_id", "gender", "age", "annual_income", "spending_score")


@dataclass
class ChunkResult:
    """The valid rows as text, ready to be written, and the rejected rows.

    `clean` has the columns CLEAN_COLUMNS then a_0 .. a_n (one per attribute column): the id
    and attributes stripped, gender normalised, numbers as validated text ("" for missing),
    so a writer can stream them and convert with `number_value` (or a SQL cast).
    """

    clean: pd.DataFrame
    rejected: list[tuple[int, list[str], str]]  # (row number, raw cells, reason)


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
    id_col = plan.fields["external_id"]
    ids = _strip(frame[id_col])
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
    problems: dict[int, list[str]] = {}

    def flag(mask: np.ndarray, column: str, message: Any) -> None:
        for pos in np.flatnonzero(mask):
            problems.setdefault(int(pos), []).append(f"row {rows[pos]}, column {column}: {message(pos)}")

    clean: dict[str, Any] = {"row": rows}

    # external_id
    id_header = plan.header_of("external_id")
    flag(empty_id, id_header, lambda pos: "the id is empty")
    too_long = (ids.str.len() > EXTERNAL_ID_MAX_LENGTH).to_numpy()
    flag(too_long, id_header, lambda pos: f"{ids.iat[pos]!r} is longer than {EXTERNAL_ID_MAX_LENGTH} characters")
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
        ("annual_income", 0, None, False),
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

    valid = np.ones(len(frame), dtype=bool)
    if problems:
        valid[list(problems)] = False

    for i, attr in enumerate(plan.attributes):
        text = _text_column(frame[attr.index])
        kinds.update(attr.key, text[valid] if problems else text)
        clean[f"a_{i}"] = text.to_numpy()

    out = pd.DataFrame(clean)
    rejected: list[tuple[int, list[str], str]] = []
    if problems:
        for pos in sorted(problems):
            rejected.append((int(rows[pos]), frame.iloc[pos, :width].tolist(), "; ".join(problems[pos])))
        out = out[valid].reset_index(drop=True)
    return ChunkResult(clean=out, rejected=rejected)


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


def _strip(raw: pd.Series) -> pd.Series:
    """Strip blanks around cells, touching the column only when some cell has them."""
    values = raw.tolist()
    joined = "\x00" + "\x00".join(values) + "\x00"
    if not any(marker in joined for marker in (" \x00", "\x00 ", "\t\x00", "\x00\t")):
        return raw
    return raw.str.strip()


def _text_column(raw: pd.Series) -> pd.Series:
    """Stripped text of an attribute column, computed once per distinct value."""
    codes, uniques = pd.factorize(raw)
    if len(uniques) > len(raw) // 2:
        return _strip(raw)
    stripped = pd.Series(uniques, dtype=object).str.strip().to_numpy()
    return pd.Series(stripped[codes], index=raw.index)


def rejected_header(plan: ColumnPlan) -> list[str]:
    return ["row", *plan.headers, "reason"]
