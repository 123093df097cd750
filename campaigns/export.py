"""Streaming a campaign's audience with the columns the user chose, in three formats, with constant memory.

Formats (`EXPORT_FORMATS`):

* ``excel`` -- "CSV for Excel": UTF-8 with a byte-order mark (Excel otherwise reads UTF-8 as Windows-1252
  and shows "Â·" for "·"), CRLF line ends, and text cells that Excel would turn into numbers or dates
  written as the formula ``="0124"``. A byte-order mark alone does not keep 0124: Excel converts any
  numeric-looking field when it opens a CSV, and a leading apostrophe shows up as a character. ``="..."``
  is a string literal, so Excel, LibreOffice (with "Evaluate formulas") and Google Sheets show 0124 and
  copy 0124; it is only used for cells that are digits with a leading zero, 16 digits or more (Excel keeps
  15 significant digits), an exponent (1E5) or a date shape (1-2, 3/4), never for other text, so the
  formula never contains user text that could do anything. Tools should use ``csv`` or ``json``.
* ``csv`` -- plain CSV, UTF-8 without a byte-order mark, values as stored (for tools).
* ``json`` -- one JSON array of objects (column -> value; numbers as numbers, empty as null), streamed.

Every CSV text cell passes through `core.csvsafe.safe_cell` (formula injection: a text starting with =,
+, -, @, tab or CR gets a leading quote) before anything else; JSON carries the values as they are.

Rows come from a server-side cursor (`campaign_export_rows`, one set-based SELECT) and are yielded in
blocks of `block_rows` rows, so the web process never holds more than one block. Columns that are the
same for every member of a segment (segment name, strategy...) or of the campaign are rendered once
per segment into a row template; per row only the customer's cells are formatted. The export is
audited when the stream ends: columns, format, rows sent, complete or not.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from operator import call
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse

from campaigns.columns import ExportColumn, campaign_export_columns, export_columns_available
from campaigns.models import Campaign
from campaigns.selectors import (
    AUDIENCE_COLUMNS,
    audience_number,
    campaign_audience_features,
    campaign_export_groups,
    campaign_export_rows,
    campaign_export_values,
)
from campaigns.services import campaign_export_record
from core.csvsafe import DANGEROUS_START, EXCEL_CONVERTS, excel_text, safe_cell, safe_row
from core.exceptions import DataError

_NEEDS_QUOTES = re.compile(r'[,"\r\n]')
#: A text cell written as it is: not empty, no formula start (core.csvsafe), nothing to quote.
_PLAIN = re.compile(rf'[^{re.escape("".join(sorted(DANGEROUS_START)))},"\r\n][^,"\r\n]*')
#: The same, for Excel also not a text it would convert (core.csvsafe.EXCEL_CONVERTS).
_PLAIN_EXCEL = re.compile(rf"(?!(?:{EXCEL_CONVERTS.pattern})\Z){_PLAIN.pattern}", re.ASCII)
BOM = "\ufeff"


@dataclass(frozen=True)
class ExportFormat:
    key: str
    label: str
    content_type: str
    extension: str


EXPORT_FORMATS: dict[str, ExportFormat] = {
    "excel": ExportFormat("excel", "CSV for Excel", "text/csv; charset=utf-8", "csv"),
    "csv": ExportFormat("csv", "CSV (UTF-8, for tools)", "text/csv; charset=utf-8", "csv"),
    "json": ExportFormat("json", "JSON (for tools)", "application/json", "json"),
}


def export_format_validate(value: str | None, *, parameter: str = "format") -> str:
    if value not in EXPORT_FORMATS:
        raise DataError(f"{parameter}: expected one of {', '.join(EXPORT_FORMATS)}; got {value!r}")
    return value


def csv_field(value: Any) -> str:
    """One cell as csv.writer writes it inside a row (None and "" are empty)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        if _NEEDS_QUOTES.search(value):
            return '"' + value.replace('"', '""') + '"'
        return value
    return str(value)


def csv_line(values: Iterable[Any]) -> str:
    """A row with formula-injection protection, as csv.writer(...).writerow(safe_row(values)) writes it."""
    return ",".join(csv_field(safe_cell(v)) for v in values) + "\r\n"


def _number_cell(value: Any) -> Any:
    """A canonical number column: the number (the row template writes it), empty when missing."""
    return "" if value is None else value


def _csv_renderer(column: ExportColumn, *, excel: bool) -> Callable[[Any], Any]:
    """How one customer cell is written: a function of the value giving what the row template writes.

    Called per row and cell, so the common case returns at once: a text that one regular expression
    (`_PLAIN`, `_PLAIN_EXCEL`) finds needs nothing (no formula start, nothing to quote, for Excel nothing
    it would convert). Anything else goes the long way, through core.csvsafe and `csv_field`.
    """
    if column.kind == "number" and not column.attribute:
        return _number_cell
    if column.kind == "number":
        return lambda v: csv_field(safe_cell(audience_number(v)))
    plain, cell = (_PLAIN_EXCEL.fullmatch, excel_text) if excel else (_PLAIN.fullmatch, safe_cell)

    def text(v: Any) -> str:
        if v.__class__ is str and plain(v):
            return v
        return csv_field(cell(v))

    return text


def _constant_cell(value: Any, *, excel: bool) -> str:
    return csv_field(excel_text(value) if excel else safe_cell(value))


def _json_value(column: ExportColumn) -> Callable[[Any], Any]:
    if column.kind == "number" and column.attribute:
        return lambda v: None if v is None else audience_number(v)
    return lambda v: v


def audience_export_stream(
    *,
    actor: Any,
    campaign: Campaign,
    columns: list[str] | None = None,
    format: str = "excel",
    block_rows: int = 5000,
) -> Iterator[bytes]:
    """The campaign's audience as bytes blocks: `columns` (names, validated by the caller; None = the
    campaign's choice or the default) in `format` (EXPORT_FORMATS)."""
    export_format_validate(format)
    available = export_columns_available()
    names = columns or campaign_export_columns(campaign=campaign, available=available)
    chosen = [available[n] for n in names]
    customer_columns = [c for c in chosen if c.source == "customer"]
    groups = campaign_export_groups(campaign=campaign)
    constants = campaign_export_values(campaign=campaign)
    counter = [0]  # rows sent, kept up to date by the block writers (also when the client goes away)
    complete = False
    try:
        if format == "json":
            yield from _json_blocks(chosen, customer_columns, groups, constants, campaign, block_rows, counter)
        else:
            excel = format == "excel"
            yield from _csv_blocks(chosen, customer_columns, groups, constants, campaign, block_rows, counter, excel)
        complete = True
    finally:
        campaign_export_record(
            actor=actor, campaign=campaign, rows=counter[0], format=format, complete=complete, columns=names
        )


def _csv_blocks(chosen, customer_columns, groups, constants, campaign, block_rows, counter, excel: bool):
    if excel:
        yield BOM.encode()
    yield ("".join([",".join(_constant_cell(c.name, excel=False) for c in chosen), "\r\n"])).encode()
    # Per group a str.format template: constant cells rendered once, {i} where the i-th customer cell goes.
    templates: dict[int, str] = {}
    for group_id, values in groups.items():
        parts, i = [], 0
        for column in chosen:
            if column.source == "customer":
                parts.append(f"{{{i}}}")
                i += 1
            else:
                value = values.get(column.name) if column.source == "group" else constants.get(column.name)
                parts.append(_constant_cell(value, excel=excel).replace("{", "{{").replace("}", "}}"))
        templates[group_id] = ",".join(parts) + "\r\n"
    renderers = [_csv_renderer(c, excel=excel) for c in customer_columns]
    formats = {group_id: template.format for group_id, template in templates.items()}
    rows = campaign_export_rows(campaign=campaign, columns=customer_columns, chunk_size=block_rows)
    for block in _row_blocks(rows, renderers, formats, block_rows):
        counter[0] += len(block)
        yield "".join(block).encode()


def _row_blocks(
    rows: Iterable[tuple],
    renderers: list[Callable[[Any], Any]],
    formats: dict[int, Callable[..., str]],
    block_rows: int,
) -> Iterator[list[str]]:
    """Lists of `block_rows` CSV lines (the last one shorter): per row `(group id, *customer values)`, each
    value through its column's renderer, into the row template of the member's group."""
    block: list[str] = []
    for group_id, *values in rows:
        block.append(formats[group_id](*map(call, renderers, values)))
        if len(block) >= block_rows:
            yield block
            block = []
    yield block


def _json_blocks(chosen, customer_columns, groups, constants, campaign, block_rows, counter):
    keys = [json.dumps(c.name) + ":" for c in chosen]
    fixed = {
        group_id: {
            c.name: values.get(c.name) if c.source == "group" else constants.get(c.name)
            for c in chosen
            if c.source != "customer"
        }
        for group_id, values in groups.items()
    }
    converters = [_json_value(c) for c in customer_columns]
    positions = [i for i, c in enumerate(chosen) if c.source == "customer"]
    others = [(i, c.name) for i, c in enumerate(chosen) if c.source != "customer"]
    dumps = DjangoJSONEncoder(ensure_ascii=False).encode  # dates and decimals (provider columns) as text
    yield b"["
    block: list[str] = []
    append = block.append
    first = True
    for group_id, *values in campaign_export_rows(campaign=campaign, columns=customer_columns, chunk_size=block_rows):
        cells: list[Any] = [None] * len(chosen)
        for position, convert, value in zip(positions, converters, values, strict=True):
            cells[position] = convert(value)
        constants_of_group = fixed[group_id]
        for position, name in others:
            cells[position] = constants_of_group[name]
        text = "{" + ",".join(k + dumps(v) for k, v in zip(keys, cells, strict=True)) + "}"
        append(text if first else ",\n" + text)
        first = False
        if len(block) >= block_rows:
            counter[0] += len(block)
            yield "".join(block).encode()
            block.clear()
    counter[0] += len(block)
    yield ("".join(block) + "]\n").encode()


def audience_csv_reference(rows: Iterable[Iterable[Any]], *, features: Iterable[str] = ()) -> str:
    """The same CSV through csv.writer and safe_row, for tests (`features`: the run's attribute columns)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(safe_row([*AUDIENCE_COLUMNS, *features]))
    for row in rows:
        writer.writerow(safe_row(list(row)))
    return buffer.getvalue()


def audience_filename(campaign: Campaign, format: str = "csv") -> str:
    if campaign.audience_id:
        return f"campaign-{campaign.pk}-audience-{campaign.audience_id}.{EXPORT_FORMATS[format].extension}"
    run = campaign.pinned_run_id or "draft"
    return f"campaign-{campaign.pk}-run-{run}-audience.{EXPORT_FORMATS[format].extension}"


def audience_export_response(*, actor: Any, campaign: Campaign, columns: list[str] | None, format: str):
    """The audience export as a download (streamed, never cached) for the page and the API alike."""
    response = StreamingHttpResponse(
        audience_export_stream(actor=actor, campaign=campaign, columns=columns, format=format),
        content_type=EXPORT_FORMATS[format].content_type,
    )
    response["Content-Disposition"] = f'attachment; filename="{audience_filename(campaign, format)}"'
    response["Cache-Control"] = "no-store"
    return response


def legacy_columns(*, campaign: Campaign) -> list[str]:
    """The API's columns before columns could be chosen (AUDIENCE_COLUMNS + the run's attribute features):
    what `?format=csv` sends when neither the request nor the campaign names columns."""
    available = export_columns_available()
    names = [*AUDIENCE_COLUMNS, *campaign_audience_features(campaign=campaign)]
    return [n for n in names if n in available]
