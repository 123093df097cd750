"""Importing tables beyond the Mall file: numbered rows (Wholesale), income in dollars and column roles
(Customer Personality), and the Mall file exactly as before."""

from __future__ import annotations

import pytest

from core.exceptions import DataError
from customers.imports.columns import columns_plan, income_kept, row_id_prefix
from customers.imports.service import customer_import
from customers.models import Customer, CustomerAttribute
from tests import synth

pytestmark = pytest.mark.django_db

WHOLESALE_NAME = "Wholesale customers data.csv"


def run(path, **kwargs):
    return customer_import(file=path, source="command", **kwargs)


def roles() -> dict[str, str]:
    return dict(CustomerAttribute.objects.values_list("key", "role"))


def units() -> dict[str, str]:
    return dict(CustomerAttribute.objects.values_list("key", "unit"))


# ----------------------------------------------------------------------------- numbered rows


@pytest.mark.parametrize(
    "file_name,prefix",
    [
        ("Wholesale customers data.csv", "wholesale-customers-data-"),
        ("wholesale.csv", "wholesale-"),
        ("2024 Q1 (final).xlsx", "2024-q1-final-"),
        ("no_extension", "no-extension-"),
        ("Ümlaut.csv", "mlaut-"),
        ("....csv", "csv-"),
        ("---", "row-"),
        ("x" * 80 + ".csv", "x" * 40 + "-"),
    ],
)
def test_row_id_prefix(file_name, prefix):
    assert row_id_prefix(file_name) == prefix


def test_plan_refuses_numbering_a_file_with_ids():
    with pytest.raises(DataError, match=r"numbering the rows: the file has an id column \('CustomerID'\)"):
        columns_plan(["CustomerID", "Age"], id_prefix="f-")
    plan = columns_plan(["Channel", "Fresh"], id_prefix="f-")
    assert plan.id_prefix == "f-" and "external_id" not in plan.fields
    assert [a.key for a in plan.attributes] == ["channel", "fresh"]


def test_wholesale_without_an_id_is_refused_with_the_numbering_offer(tmp_path):
    path = synth.wholesale_csv(tmp_path / WHOLESALE_NAME)
    with pytest.raises(DataError) as refused:
        run(path)
    message = str(refused.value)
    assert "no id column" in message and "--number-rows" in message and "'Number the rows'" in message
    assert "Channel=external_id" not in message
    assert Customer.objects.count() == 0


def test_wholesale_imports_unchanged_with_numbered_rows(tmp_path):
    path = synth.wholesale_csv(tmp_path / WHOLESALE_NAME)
    result = run(path, number_rows=True)
    assert (result.rows_total, result.added, result.updated, result.rejected) == (440, 440, 0, 0)
    assert result.job.numbered_rows
    ids = set(Customer.objects.values_list("external_id", flat=True))
    assert ids == {f"wholesale-customers-data-{row}" for row in range(2, 442)}
    first = Customer.objects.get(external_id="wholesale-customers-data-2")
    lines = path.read_text().splitlines()
    keys = [h.lower() for h in synth.WHOLESALE_COLUMNS]
    assert [str(first.attributes[k]) for k in keys] == lines[1].split(",")  # values as in the file
    assert roles() == {
        "channel": "demographic",
        "region": "demographic",
        "fresh": "monetary",
        "milk": "monetary",
        "grocery": "monetary",
        "frozen": "monetary",
        "detergents_paper": "monetary",
        "delicassen": "monetary",
    }
    assert set(units().values()) == {""}  # no header names a currency
    assert any("wholesale-customers-data-2 for the first data row" in note for note in result.job.notes)
    assert any("monetary: Fresh, Milk, Grocery, Frozen, Detergents_Paper, Delicassen" in n for n in result.job.notes)

    again = run(path, number_rows=True)
    assert (again.added, again.updated) == (0, 440)  # the same file upserts the same rows by position
    other = run(synth.wholesale_csv(tmp_path / "wholesale-2025.csv", seed=5), number_rows=True)
    assert (other.added, other.updated) == (440, 0)  # another file never collides
    assert Customer.objects.count() == 880


def test_numbered_rows_skip_blank_lines_and_count_rows_as_in_the_file(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("Channel,Fresh\n1,100\n,\n\n2,200\n", encoding="utf-8")
    run(path, number_rows=True)
    assert dict(Customer.objects.values_list("external_id", "attributes__fresh")) == {"shop-2": 100, "shop-4": 200}


# ----------------------------------------------------------------------------- income in dollars


def test_income_kept_moves_the_column_to_an_attribute_in_dollars():
    plan = columns_plan(["ID", "Income", "MntWines"])
    kept, note = income_kept(plan)
    assert "annual_income" not in kept.fields
    assert [(a.key, a.unit, a.role) for a in kept.attributes] == [
        ("income", "$", "capacity"),
        ("mnt_wines", None, None),
    ]
    assert "Column 'Income' was not imported as annual income (k$)" in note and "'income' in $" in note
    kept, _ = income_kept(columns_plan(["ID", "Annual Income"]))
    assert [(a.key, a.unit) for a in kept.attributes] == [("annual_income_usd", "$")]
    kept, _ = income_kept(columns_plan(["ID", "Earnings (£)"], {"Earnings (£)": "annual_income"}))
    assert [(a.key, a.unit) for a in kept.attributes] == [("earnings", "£")]
    with pytest.raises(DataError, match="would be kept as attribute 'pay', but column 'pay' is stored"):
        income_kept(columns_plan(["ID", "Pay", "pay"], {"Pay": "annual_income"}))


def test_personality_keeps_income_in_dollars_and_guesses_roles(tmp_path):
    path = synth.personality_tsv(tmp_path / "marketing_campaign.csv")
    result = run(path)
    assert (result.rows_total, result.added, result.rejected) == (2240, 2240, 0)
    assert result.file_format == "tsv"
    assert not Customer.objects.filter(annual_income__isnull=False).exists()
    first = Customer.objects.get(external_id="5524")
    assert first.attributes["income"] == 58138 and first.annual_income is None
    income = CustomerAttribute.objects.get(key="income")
    assert (income.label, income.kind, income.unit, income.role) == ("Income", "number", "$", "capacity")
    assert Customer.objects.filter(attributes__income=666666).count() == 1
    assert Customer.objects.exclude(attributes__has_key="income").count() == synth.PERSONALITY_MISSING_INCOME
    got = roles()
    for key in ("mnt_wines", "mnt_fruits", "mnt_meat_products", "mnt_fish_products", "mnt_sweet_products"):
        assert got[key] == "monetary", key
    assert got["mnt_gold_prods"] == "monetary"
    for key in ("num_deals_purchases", "num_web_purchases", "num_catalog_purchases", "num_store_purchases"):
        assert got[key] == "frequency", key
    assert got["num_web_visits_month"] == "frequency"
    assert got["recency"] == "recency"
    for key in ("year_birth", "education", "marital_status", "kidhome", "teenhome"):
        assert got[key] == "demographic", key
    for key in ("id", "dt_customer", "accepted_cmp1", "complain", "z_cost_contact", "z_revenue", "response"):
        assert got.get(key, "other") == "other", key
    assert result.mapping["Income"] == "attribute:income"
    notes = " ".join(result.job.notes)
    assert "Column 'Income' was not imported as annual income (k$)" in notes
    assert "kept as attribute 'income' in $, role capacity" in notes


def test_an_admin_choice_of_role_and_unit_survives_a_reimport(tmp_path):
    path = synth.personality_tsv(tmp_path / "marketing_campaign.csv")
    run(path)
    CustomerAttribute.objects.filter(key="mnt_wines").update(role="other", unit="€")
    result = run(path)
    assert (result.added, result.updated) == (0, 2240)
    wines = CustomerAttribute.objects.get(key="mnt_wines")
    assert (wines.role, wines.unit) == ("other", "€")
    assert not any(note.startswith("Roles of the new columns") for note in result.job.notes)


def test_income_in_thousands_is_annual_income_as_before(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("ID,Income\na,58.1\nb,1000\nc,\n", encoding="utf-8")
    result = run(path)
    assert dict(Customer.objects.values_list("external_id", "annual_income")) == {"a": 58.1, "b": 1000, "c": None}
    assert result.job.notes == [] and not CustomerAttribute.objects.exists()


def test_a_dry_run_says_what_it_would_decide(tmp_path):
    result = run(synth.personality_tsv(tmp_path / "p.tsv"), dry_run=True)
    assert any("'Income' was not imported as annual income" in note for note in result.job.notes)
    assert not CustomerAttribute.objects.exists()


# ----------------------------------------------------------------------------- the Mall file


def test_mall_imports_exactly_as_before(mall_csv):
    result = run(mall_csv)
    assert (result.rows_total, result.added, result.rejected) == (200, 200, 0)
    assert result.job.notes == [] and not result.job.numbered_rows
    assert result.mapping == {
        "CustomerID": "external_id",
        "Genre": "gender",
        "Age": "age",
        "Annual Income (k$)": "annual_income",
        "Spending Score (1-100)": "spending_score",
    }
    first = Customer.objects.get(external_id="0001")
    assert (first.gender, first.age, first.annual_income, first.spending_score, first.attributes) == (
        "male",
        19,
        15,
        39,
        {},
    )
    assert not CustomerAttribute.objects.exists()
