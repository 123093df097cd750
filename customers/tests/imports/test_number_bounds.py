"""Issue 14, finding 8 (imports): number attributes are bounded (finite, |x| < 1e15) with a message naming the
row, the column and the value; long digit strings (ids, card numbers) stay text; what is stored loads as float64."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.exceptions import DataError
from customers.imports.columns import columns_plan
from customers.imports.service import customer_import
from customers.imports.validation import KindTracker, chunk_validate
from customers.models import Customer, CustomerAttribute

pytestmark = pytest.mark.django_db


def write(tmp_path: Path, text: str, name: str = "customers.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("value", ["1e308", "-2.5e20", "1000000000000000.5", "inf", "-Infinity", "1E15"])
def test_an_extreme_number_in_a_number_column_is_refused_naming_row_column_and_value(tmp_path, value):
    path = write(tmp_path, f"ID,Age,Balance\n1,30,12.5\n2,40,{value}\n3,50,7\n")
    with pytest.raises(DataError) as refused:
        customer_import(file=path)
    assert f"row 3, column Balance: {value!r} is out of range: a number must be finite and between -1e15 and 1e15" in (
        str(refused.value)
    )
    assert Customer.objects.count() == 0


def test_skip_invalid_keeps_the_other_rows_and_the_column_a_number(tmp_path):
    path = write(tmp_path, "ID,Balance\n1,12.5\n2,1e308\n3,999999999999999\n4,-999999999999999\n")
    result = customer_import(file=path, skip_invalid=True)
    assert (result.job.rows_added, result.job.rows_rejected) == (3, 1)
    assert CustomerAttribute.objects.get(key="balance").kind == "number"
    stored = {c.external_id: c.attributes["balance"] for c in Customer.objects.all()}
    assert stored == {"1": 12.5, "3": 999999999999999, "4": -999999999999999}


def test_long_digit_strings_are_text_kept_as_written(tmp_path):
    cards = ["12345678901234567890", "00001234567890123456", "4111111111111111"]
    rows = "".join(f"{i},{card},{i * 10}\n" for i, card in enumerate(cards, start=1))
    path = write(tmp_path, "ID,Card,Visits\n" + rows)
    customer_import(file=path)
    kinds = dict(CustomerAttribute.objects.values_list("key", "kind"))
    assert kinds == {"card": "text", "visits": "number"}
    stored = {c.external_id: c.attributes["card"] for c in Customer.objects.all()}
    assert stored == {"1": cards[0], "2": cards[1], "3": cards[2]}


def test_a_column_of_20_digit_numbers_mixed_with_short_ones_is_text(tmp_path):
    path = write(tmp_path, "ID,Account\n1,42\n2,98765432109876543210\n3,7\n")
    customer_import(file=path)
    assert CustomerAttribute.objects.get(key="account").kind == "text"
    assert Customer.objects.get(external_id="2").attributes["account"] == "98765432109876543210"


def test_in_a_text_column_extreme_number_words_are_just_text(tmp_path):
    path = write(tmp_path, "ID,Plan\n1,Basic\n2,Infinity\n3,1e308\n")
    customer_import(file=path)
    assert CustomerAttribute.objects.get(key="plan").kind == "text"
    assert Customer.objects.get(external_id="3").attributes["plan"] == "1e308"


def test_chunks_check_numbers_and_kinds_alike():
    plan = columns_plan(["ID", "Score2", "Ref"])
    kinds = KindTracker()
    frame = pd.DataFrame([["1", "5", "12345678901234567"], ["2", "nan", "1"], ["3", "9e99", "2"]], dtype=str)
    frame.columns = range(3)
    result = chunk_validate(frame, 2, plan, {}, kinds)
    # "nan" makes Score2 text in this chunk, so 9e99 is text too; Ref has a 17-digit string: text
    assert result.rejected == []
    assert (kinds.kind("score2"), kinds.kind("ref")) == ("text", "text")
