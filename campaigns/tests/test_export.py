"""The fast CSV writer renders exactly what csv.writer + core.csvsafe would."""

from __future__ import annotations

import csv
import io

import pytest

from campaigns import services
from campaigns.export import audience_csv_reference, audience_export_stream, csv_line, legacy_columns
from campaigns.selectors import campaign_audience_rows
from core.csvsafe import safe_row

TRICKY = [
    "plain", "", None, "=2+3", "+1", "-1", "@SUM(A1)", "\tTab", "\rCR", "a,b", 'say "hi"', "line\nbreak",
    "=HYPERLINK(\"http://x\",\"y\")", "Average income · High spending", " lead space", "'quoted", 0, -3, 1.5, 77.0,
]  # fmt: skip


def _reference(values) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(safe_row(values))
    return buffer.getvalue()


@pytest.mark.parametrize("value", TRICKY)
def test_csv_line_matches_csv_writer(value):
    row = ["x", value, 3, value, None]
    assert csv_line(row) == _reference(row)


@pytest.mark.django_db
def test_stream_equals_reference_writer(marketer_user, mall_run, mall_customers):
    for c, ext in zip(mall_customers[:6], ["=2+3", "a,b", 'q"x', "@x", "-5", "\tT"], strict=True):
        c.external_id = ext
        c.save()
    seg = mall_run.segments.order_by("label").first()
    seg.name = 'Mixed, "quoted" · name'
    seg.save()
    campaign = services.campaign_create(actor=marketer_user, name="All", segments=list(mall_run.segments.all()))
    streamed = b"".join(
        audience_export_stream(
            actor=marketer_user,
            campaign=campaign,
            columns=legacy_columns(campaign=campaign),
            format="csv",
            block_rows=7,
        )
    ).decode()
    reference = audience_csv_reference(campaign_audience_rows(campaign=campaign))
    assert streamed == reference
    assert len(list(csv.reader(io.StringIO(streamed)))) == 201
