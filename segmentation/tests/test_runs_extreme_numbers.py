"""Finding 8 of issue 14: extreme valid numbers never break a run nor the assignment of new customers,
and the import bounds them per field (customers.imports.validation.ANNUAL_INCOME_MAX)."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from customers.models import Customer
from customers.tests.factories import customer_blobs_create
from segmentation import loading
from segmentation.models import Membership, RunStatus
from segmentation.services import claims, config, memberships, runs

pytestmark = pytest.mark.django_db


def _run(seg, **overrides):
    run = runs.run_request(segmentation=seg, requested_by=None, trigger="manual", enqueue=False, overrides=overrides)
    outcome = runs.run_execute(run_id=run.pk)
    run.refresh_from_db()
    return outcome, run


def test_huge_numbers_in_the_fit_do_not_break_the_assignment_of_new_customers():
    # Before: with the outliers kept, the fitted model held 1e308, which jsonb gives back as a Python
    # int; numpy made an object array and the assignment of every later customer raised TypeError.
    customer_blobs_create(150)
    Customer.objects.filter(external_id="C00001").update(annual_income=1e308)
    Customer.objects.filter(external_id="C00002").update(annual_income=9.3e18)
    seg = config.segmentation_get_or_create_default()
    outcome, run = _run(
        seg, k=3, features=["annual_income", "spending_score"], transform="none", scaler="minmax", outliers="keep"
    )
    assert outcome == claims.SUCCEEDED, run.error
    new = customer_blobs_create(5, prefix="N", seed=3)
    Customer.objects.filter(pk=new[0].pk).update(annual_income=1e308)
    Customer.objects.filter(pk=new[1].pk).update(annual_income=9.3e18)
    assert memberships.memberships_assign_new(segmentation=seg) == 5
    assert Membership.objects.filter(run=run, customer__external_id__startswith="N").count() == 5
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED


def test_model_float64_turns_big_ints_into_floats():
    model = {"center": [10**308, 1.5], "features": ["annual_income"], "k": 3, "flag": True}
    out = loading.model_float64(model)
    assert out["center"] == [1e308, 1.5] and isinstance(out["center"][0], float)
    assert out["k"] == 3 and out["flag"] is True and out["features"] == ["annual_income"]


@pytest.mark.parametrize("income", ["1e308", "9.3e18", "1000000000001"])
def test_import_refuses_an_income_beyond_the_documented_range(tmp_path, income):
    path = tmp_path / "customers.csv"
    path.write_text(
        "CustomerID,Genre,Age,Annual Income (k$),Spending Score (1-100)\r\n"
        f"0001,Male,19,{income},39\r\n" + "".join(f"{i:04d},Female,21,{10 + i},81\r\n" for i in range(2, 9)),
        encoding="utf-8",
        newline="",
    )
    message = f"row 2, column Annual Income (k$): '{income}' is out of range: must be between 0 and 1000000000000"
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("import_customers", str(path), stdout=StringIO())
    assert Customer.objects.count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="membership partitions are PostgreSQL's")
def test_a_runs_membership_partition_is_analyzed():
    customer_blobs_create(150)
    seg = config.segmentation_get_or_create_default()
    outcome, run = _run(seg, k=3)
    assert outcome == claims.SUCCEEDED
    with connection.cursor() as cursor:  # column statistics exist only once the table was analyzed
        cursor.execute(
            "SELECT count(*) FROM pg_stats WHERE tablename = %s", [f"{Membership._meta.db_table}_run_{run.pk}"]
        )
        assert cursor.fetchone()[0] > 0
