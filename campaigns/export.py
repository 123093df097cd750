"""Streaming the audience of a campaign as CSV with constant memory.

Rows come from a server-side cursor (`iterator(chunk_size=...)`), every text cell passes through
`core.csvsafe.safe_cell` (formula injection), and the text is yielded in blocks of `block_rows`
rows, so the web process never holds more than one block. The export is audited when the stream
ends (rows sent, complete or not).

Speed: the columns that are the same for every member of a segment (label, name, run, strategy,
campaign) are rendered to CSV once per segment; per row only the customer's cells are formatted.
`csv_line` renders exactly what `csv.writer` (excel dialect, minimal quoting) would; a test holds
the two equal.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

from campaigns.models import Campaign
from campaigns.selectors import (
    AUDIENCE_COLUMNS,
    audience_number,
    campaign_audience_customer_rows,
    campaign_audience_features,
    campaign_audience_segments,
)
from campaigns.services import campaign_export_record
from core.csvsafe import safe_cell, safe_row

_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


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


def audience_csv_stream(*, actor: Any, campaign: Campaign, block_rows: int = 5000) -> Iterator[bytes]:
    segments = campaign_audience_segments(campaign=campaign)
    # label,name,run_id and strategy,campaign_id rendered once per segment
    middle = {pk: csv_line((label, name, run_id))[:-2] for pk, (label, name, run_id, _) in segments.items()}
    tail = {pk: csv_line((strategy, campaign.pk))[:-2] for pk, (_, _, _, strategy) in segments.items()}
    rows = 0
    complete = False
    safe, field, needs_quotes = safe_cell, csv_field, _NEEDS_QUOTES.search  # local names: this loop runs per row
    genders: dict[Any, str] = {}
    try:
        features = campaign_audience_features(campaign=campaign)  # the run's attribute columns, after the fixed ones
        yield csv_line((*AUDIENCE_COLUMNS, *features)).encode()
        block: list[str] = []
        append = block.append
        rows_in = campaign_audience_customer_rows(campaign=campaign, features=features)
        for ext, segment_id, gender, age, income, score, *extra in rows_in:
            ext = safe(ext)
            if needs_quotes(ext):
                ext = field(ext)
            g = genders.get(gender)
            if g is None:
                g = genders[gender] = field(safe(gender))
            more = "".join("," + field(safe(audience_number(v))) for v in extra) if extra else ""
            append(
                f"{ext},{middle[segment_id]},{g},{'' if age is None else age},"
                f"{'' if income is None else income},{'' if score is None else score},{tail[segment_id]}{more}\r\n"
            )
            if len(block) >= block_rows:
                rows += len(block)
                yield "".join(block).encode()
                block.clear()
        rows += len(block)
        yield "".join(block).encode()
        complete = True
    finally:
        campaign_export_record(actor=actor, campaign=campaign, rows=rows, format="csv", complete=complete)


def audience_csv_reference(rows: Iterable[Iterable[Any]], *, features: Iterable[str] = ()) -> str:
    """The same CSV through csv.writer and safe_row, for tests (`features`: the run's attribute columns)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(safe_row([*AUDIENCE_COLUMNS, *features]))
    for row in rows:
        writer.writerow(safe_row(list(row)))
    return buffer.getvalue()


def audience_filename(campaign: Campaign) -> str:
    run = campaign.pinned_run_id or "draft"
    return f"campaign-{campaign.pk}-run-{run}-audience.csv"
