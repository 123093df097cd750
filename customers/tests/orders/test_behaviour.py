"""Behaviour per customer from the orders: what each column counts, as of a day, derived columns kept apart
from customer-file imports, the import hook, the command and the admin action."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from core.exceptions import DataError
from core.models import Activity
from customers.imports.service import customer_import
from customers.models import Customer, CustomerAttribute
from customers.orders.behaviour import behaviour_compute
from customers.orders.behaviour_fields import BEHAVIOUR_KEYS
from customers.orders.behaviour_selectors import behaviour_columns, behaviour_last_purchase_day
from customers.selectors.columns import column_roles
from customers.tests.orders.factories import ONLINE_RETAIL_HEADER, order_file

pytestmark = pytest.mark.django_db(transaction=False)

SHOP = ONLINE_RETAIL_HEADER + (
    # customer 100: two orders on 5 January (one purchase day), a cancellation, an order with a return
    "1001,P1,ONE,2,1/5/2011 10:00,5.00,100,United Kingdom\r\n"
    "1001,P2,TWO,1,1/5/2011 10:00,20.00,100,United Kingdom\r\n"
    "1001,POST,POSTAGE,1,1/5/2011 10:00,5.00,100,United Kingdom\r\n"
    "1002,P1,ONE,1,1/5/2011 15:00,5.00,100,United Kingdom\r\n"
    "C1003,P2,TWO,-1,1/10/2011 9:00,20.00,100,United Kingdom\r\n"
    "1004,P3,THREE,4,1/15/2011 9:00,2.50,100,United Kingdom\r\n"
    "1004,P1,ONE,-1,1/15/2011 9:00,5.00,100,United Kingdom\r\n"
    # customer 200: only a cancellation, so no purchase
    "C2001,P1,ONE,-1,1/3/2011 9:00,5.00,200,United Kingdom\r\n"
    # no customer: never in anyone's behaviour, nor in the default as-of day
    "3001,P1,ONE,100,1/20/2011 9:00,5.00,,United Kingdom\r\n"
    # customer 300: one purchase
    "4001,P1,ONE,1,1/12/2011 9:00,5.00,300,France\r\n"
)


@pytest.fixture
def shop(tmp_path):
    call_command("import_orders", str(order_file(tmp_path, SHOP)), stdout=io.StringIO())


def _attrs(external_id: str) -> dict:
    return Customer.objects.get(external_id=external_id).attributes


def test_default_as_of_is_the_last_purchase_day_of_a_customer(shop):
    assert behaviour_last_purchase_day() == dt.date(2011, 1, 15)


def test_every_column_counts_what_the_issue_says(shop):
    result = behaviour_compute()
    assert (result.as_of, result.customers, result.cleared) == (dt.date(2011, 1, 15), 2, 0)
    a = _attrs("100")
    assert a["recency"] == 0 and a["tenure"] == 10
    assert a["frequency"] == 3  # 1001, 1002, 1004: the cancellation is no purchase
    assert a["purchase_days"] == 2  # 5 and 15 January
    assert a["monetary"] == pytest.approx(20.0)  # 10 + 20 + 5 - 20 + 10 - 5; postage left out
    assert a["average_order_value"] == pytest.approx(6.67)
    assert a["days_between_orders"] == pytest.approx(10.0)
    assert a["return_rate"] == pytest.approx(0.5556)  # 25 returned of 45 bought
    assert a["distinct_products"] == 3
    assert (a["first_order"], a["last_order"]) == ("2011-01-05", "2011-01-15")
    c = _attrs("300")
    assert (c["recency"], c["frequency"], c["monetary"], c["return_rate"]) == (3, 1, 5.0, 0.0)
    assert "days_between_orders" not in c  # one purchase day: no interval
    assert not set(BEHAVIOUR_KEYS) & set(_attrs("200"))  # a cancellation only: no behaviour


def test_as_of_an_earlier_day_leaves_later_orders_out_and_clears_who_had_not_bought_yet(shop):
    behaviour_compute()
    result = behaviour_compute(as_of=dt.date(2011, 1, 10))
    assert (result.customers, result.cleared) == (1, 1)
    a = _attrs("100")
    assert (a["frequency"], a["purchase_days"], a["recency"], a["tenure"]) == (2, 1, 5, 5)
    assert a["monetary"] == pytest.approx(15.0)
    assert not set(BEHAVIOUR_KEYS) & set(_attrs("300"))


def test_other_attributes_are_kept(shop):
    Customer.objects.filter(external_id="100").update(attributes={"tier": "gold", "recency": 999})
    behaviour_compute()
    a = _attrs("100")
    assert a["tier"] == "gold" and a["recency"] == 0


def test_columns_are_derived_with_roles(shop):
    behaviour_compute()
    rows = {a.key: a for a in behaviour_columns()}
    assert set(rows) == set(BEHAVIOUR_KEYS)
    assert all(r.derived and r.computed_at and r.computed_as_of == dt.date(2011, 1, 15) for r in rows.values())
    roles = column_roles()
    assert (roles["recency"], roles["frequency"], roles["monetary"]) == ("recency", "frequency", "monetary")
    assert Activity.objects.filter(verb="customers.behaviour_computed").count() == 1


def test_no_orders_is_a_result_with_a_reason():
    result = behaviour_compute()
    assert result.as_of is None and "import order lines" in result.reason


def test_the_order_import_recomputes_behaviour_once_committed(tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_orders", str(order_file(tmp_path, SHOP)), stdout=io.StringIO())
    assert _attrs("100")["frequency"] == 3


def test_a_dry_run_import_computes_nothing(tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_orders", str(order_file(tmp_path, SHOP)), "--dry-run", stdout=io.StringIO())
    assert not CustomerAttribute.objects.filter(key="recency").exists()


def test_no_behaviour_leaves_it_to_a_later_computation(tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_orders", str(order_file(tmp_path, SHOP)), "--no-behaviour", stdout=io.StringIO())
    assert Customer.objects.filter(external_id="100").exists()
    assert not CustomerAttribute.objects.filter(key="recency").exists()
    behaviour_compute()
    assert _attrs("100")["frequency"] == 3


def test_new_customers_are_announced_with_their_behaviour_known(tmp_path, django_capture_on_commit_callbacks):
    """The active segmentation assigns the customers an import created: their behaviour is computed first."""
    from customers.signals import customers_changed

    seen: list[dict] = []

    def receiver(sender, customer_ids, **kwargs):
        seen.append(_attrs("100"))

    customers_changed.connect(receiver, dispatch_uid="test-behaviour-order")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            call_command("import_orders", str(order_file(tmp_path, SHOP)), stdout=io.StringIO())
    finally:
        customers_changed.disconnect(dispatch_uid="test-behaviour-order")
    assert seen and seen[0]["frequency"] == 3


def test_a_customer_file_never_writes_a_derived_column(shop, tmp_path):
    behaviour_compute()
    path = tmp_path / "profiles.csv"
    path.write_text("CustomerID,Age,Recency,Tier\n100,40,77,gold\n")
    job = customer_import(file=str(path), source="command").job
    a = _attrs("100")
    assert a["recency"] == 0  # the derived value stays
    assert a["recency_imported"] == 77 and a["tier"] == "gold"
    assert any("'recency_imported'" in note for note in job.notes)
    assert not CustomerAttribute.objects.get(key="recency_imported").derived
    # and a re-import of the same file neither deletes nor overwrites it
    customer_import(file=str(path), source="command")
    assert _attrs("100")["recency"] == 0


def test_a_column_imported_before_behaviour_is_renamed_with_its_values(shop, tmp_path):
    path = tmp_path / "profiles.csv"
    path.write_text("CustomerID,Recency,Tier\n100,77,gold\n")
    customer_import(file=str(path), source="command")  # no behaviour yet: the file keeps its 'recency'
    assert _attrs("100")["recency"] == 77 and not CustomerAttribute.objects.get(key="recency").derived
    result = behaviour_compute()
    a = _attrs("100")
    assert (a["recency"], a["recency_imported"], a["tier"]) == (0, 77, "gold")
    assert CustomerAttribute.objects.get(key="recency").derived
    assert not CustomerAttribute.objects.get(key="recency_imported").derived
    assert "renamed 'recency_imported'" in result.notes[0]
    assert Activity.objects.filter(verb="customers.column_renamed").count() == 1


def test_a_rename_onto_a_taken_name_is_refused(shop):
    CustomerAttribute.objects.create(key="monetary", label="Monetary", kind="number")
    CustomerAttribute.objects.create(key="monetary_imported", label="Monetary (old)", kind="number")
    with pytest.raises(DataError, match="'monetary_imported' is taken"):
        behaviour_compute()


def test_the_command_prints_json_and_refuses_a_bad_date(shop):
    out = io.StringIO()
    call_command("behaviour", "--as-of", "2011-01-12", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert (data["as_of"], data["customers"], data["cleared"]) == ("2011-01-12", 2, 0)
    assert "recency" in data["columns"]
    with pytest.raises(CommandError, match="not a date"):
        call_command("behaviour", "--as-of", "12/01/2011", stdout=io.StringIO())


def test_the_command_without_orders_says_why():
    with pytest.raises(CommandError, match="import order lines"):
        call_command("behaviour", stdout=io.StringIO())


def test_admins_recompute_from_the_admin(shop, admin_client):
    behaviour_compute(as_of=dt.date(2011, 1, 10))
    url = reverse("admin:customers_customerattribute_changelist")
    selected = [CustomerAttribute.objects.get(key="recency").pk]
    response = admin_client.post(url, {"action": "behaviour_recompute", "_selected_action": selected}, follow=True)
    assert response.status_code == 200
    assert _attrs("100")["frequency"] == 3
    assert "Behaviour computed as of 2011-01-15 for 2 customers" in response.content.decode()


def test_a_recomputation_rewrites_only_the_customers_whose_values_changed(shop):
    first = behaviour_compute()
    assert (first.customers, first.changed) == (2, 2)
    stamps = dict(Customer.objects.values_list("external_id", "updated_at"))
    again = behaviour_compute()
    assert (again.customers, again.changed, again.cleared) == (2, 0, 0)
    assert dict(Customer.objects.values_list("external_id", "updated_at")) == stamps
    later = behaviour_compute(as_of=dt.date(2011, 1, 20))  # five days on: every recency moves
    assert (later.customers, later.changed) == (2, 2)
    assert _attrs("100")["recency"] == 5 and _attrs("100")["frequency"] == 3


def test_a_customer_whose_values_were_edited_by_hand_is_rewritten(shop):
    behaviour_compute()
    customer = Customer.objects.get(external_id="300")
    customer.attributes = {**customer.attributes, "frequency": 99, "tier": "gold"}
    customer.save()
    result = behaviour_compute()
    assert result.changed == 1
    assert _attrs("300")["frequency"] == 1 and _attrs("300")["tier"] == "gold"
