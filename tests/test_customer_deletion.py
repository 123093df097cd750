"""Deleting customers set-based: `seed_demo --remove`, the admin's "Remove demo customers" and its
"Delete selected customers" across pages (issue 9, item 8). Memberships of a real run go with them."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import models
from django.urls import reverse

from core.models import Activity
from customers.deletion import RESEGMENT_ADVICE, customers_delete, demo_customers_queryset
from customers.management.commands.seed_demo import demo_customers_seed
from customers.models import Customer
from segmentation.models import Membership
from segmentation.tests.factories import SegmentationFactory, SegmentRunFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/customers/customer/"
REMOVE_DEMO = "/admin/customers/customer/remove-demo/"


def _real_customers(n: int, *, prefix: str = "REAL-") -> None:
    Customer.objects.bulk_create(
        Customer(
            external_id=f"{prefix}{i:05d}",
            gender="female" if i % 2 else "male",
            age=20 + i % 50,
            annual_income=float(15 + i % 120),
            spending_score=float(1 + i % 99),
        )
        for i in range(n)
    )


@pytest.fixture
def demo_with_run():
    """2,000 demo customers and 40 real ones, segmented by a real run (k = 5): every one is a member."""
    demo_customers_seed(n=2000, seed=7, reset=False)
    _real_customers(40)
    run = SegmentRunFactory(segmentation=SegmentationFactory(name="Default"), k=5)
    assert Membership.objects.filter(run=run).count() == 2040
    return run


def _hidden_inputs(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)


# --- the service and the command ---------------------------------------------------------------


def test_seed_demo_remove_deletes_demo_customers_and_their_memberships_only(
    demo_with_run, django_assert_max_num_queries
):
    out = StringIO()
    # Set-based whatever the number of customers: savepoint, a look at the orders that keep their lines, one DELETE
    # per table that cascades from Customer (memberships, values, audience members, recommendations...), DELETE
    # customers, audit, release.
    cascading = [rel for rel in Customer._meta.related_objects if rel.on_delete is models.CASCADE]
    with django_assert_max_num_queries(5 + len(cascading)):
        call_command("seed_demo", "--remove", stdout=out)
    assert "Synthetic demo customers removed: 2,000 customers and 2,000 memberships." in out.getvalue()
    assert RESEGMENT_ADVICE in out.getvalue()
    assert not demo_customers_queryset().exists()
    assert Customer.objects.count() == 40
    assert set(Membership.objects.values_list("customer__external_id", flat=True)) == {
        f"REAL-{i:05d}" for i in range(40)
    }
    demo_with_run.segmentation.refresh_from_db()
    assert demo_with_run.segmentation.active_run == demo_with_run  # the run stays; its sizes are now stale
    entry = Activity.objects.get(verb="customers.demo_removed")
    assert entry.actor is None
    assert entry.detail["customers"] == 2000 and entry.detail["memberships"] == 2000
    assert entry.detail["description"] == "the synthetic demo customers"
    others = {k: v for k, v in entry.detail.items() if k not in ("description", "customers", "memberships")}
    assert "audience members" in others and set(others.values()) == {0}  # every related kind counted, zeros too
    assert "the demo login" not in out.getvalue()


def test_seed_demo_remove_with_no_demo_customers_says_so():
    _real_customers(3)
    out = StringIO()
    call_command("seed_demo", "--remove", stdout=out)
    assert "removed: 0 customers and 0 memberships" in out.getvalue()
    assert Customer.objects.count() == 3


def test_delete_is_one_statement_per_table(demo_with_run, django_assert_max_num_queries):
    with django_assert_max_num_queries(10) as captured:  # not per customer: one statement or two per related table
        result = customers_delete(customers=Customer.objects.filter(gender="male"), actor=None)
    deletes = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) <= 5  # memberships, orders (and their lines), static audience members, customers
    assert "customer_id" in deletes[0] and "IN (SELECT" in deletes[0]
    assert result.customers > 900 and result.memberships == result.customers
    assert not Customer.objects.filter(gender="male").exists()
    assert Membership.objects.count() == Customer.objects.count()


def test_sliced_queryset_is_refused():
    with pytest.raises(TypeError, match="sliced queryset"):
        customers_delete(customers=Customer.objects.all()[:5], actor=None)


# --- the admin: remove the demo customers -------------------------------------------------------


def test_admin_remove_demo_confirms_with_counts_then_removes(demo_with_run, admin_client, admin_user):
    changelist = admin_client.get(CHANGELIST)
    assert REMOVE_DEMO in changelist.content.decode()
    page = admin_client.get(REMOVE_DEMO)
    html = page.content.decode()
    assert page.status_code == 200
    assert "2,000 customers and 2,000 memberships will be deleted" in html
    assert "Re-segmenting is advised" in html
    assert Customer.objects.count() == 2040  # a GET changes nothing

    response = admin_client.post(REMOVE_DEMO, {"post": "yes"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:customers_customer_changelist")
    assert "Removed the synthetic demo customers: 2,000 customers and 2,000 memberships" in response.content.decode()
    assert Customer.objects.count() == 40 and Membership.objects.count() == 40
    assert Activity.objects.get(verb="customers.demo_removed").actor == admin_user


def test_admin_remove_demo_is_for_admins_only(demo_with_run, marketer_client, viewer_client, anon_client):
    assert marketer_client.get(REMOVE_DEMO).status_code == 403
    assert marketer_client.post(REMOVE_DEMO, {"post": "yes"}).status_code == 403
    assert REMOVE_DEMO not in marketer_client.get(CHANGELIST).content.decode()
    assert viewer_client.get(REMOVE_DEMO).status_code == 302  # not staff: to the admin login
    assert anon_client.post(REMOVE_DEMO, {"post": "yes"}).status_code == 302
    assert Customer.objects.count() == 2040


def test_admin_remove_demo_page_when_there_are_none(admin_client):
    _real_customers(2)
    assert "There are no synthetic demo customers." in admin_client.get(REMOVE_DEMO).content.decode()


# --- the admin: delete selected, across pages ------------------------------------------------


def _select_across(client, url: str = CHANGELIST):
    """The changelist's own POST: 'Select all N customers', then the action (the page's ids ride along)."""
    page_ids = list(Customer.objects.order_by("external_id").values_list("pk", flat=True)[:100])
    return client.post(
        url, {"action": "delete_selected", "select_across": "1", "index": "0", "_selected_action": page_ids}
    )


def test_admin_delete_selected_across_pages_2500_customers(admin_client, admin_user, django_assert_max_num_queries):
    _real_customers(2500)
    confirm = _select_across(admin_client)
    html = confirm.content.decode()
    assert confirm.status_code == 200
    assert "2,500 customers and 0 memberships will be deleted" in html
    assert "on all pages" in html
    hidden = _hidden_inputs(html)
    assert len(hidden) < 10  # not one field per customer (Django's page sent 2,500: TooManyFieldsSent)
    data = dict(hidden)
    assert (data["action"], data["select_across"], data["expected"], data["post"]) == (
        "delete_selected",
        "1",
        "2500",
        "yes",
    )

    with django_assert_max_num_queries(25):  # session, user, changelist counts, 2 DELETEs, audit: not per customer
        done = admin_client.post(CHANGELIST, data)
    assert done.status_code == 302
    assert Customer.objects.count() == 0
    entry = Activity.objects.get(verb="customers.deleted")
    assert entry.actor == admin_user and entry.detail["customers"] == 2500
    assert "all customers matching 'no filter'" in entry.detail["description"]


def test_admin_delete_selected_keeps_the_changelist_filter(admin_client):
    _real_customers(1200)
    url = f"{CHANGELIST}?gender__exact=female"
    confirm = _select_across(admin_client, url)
    assert "600 customers and 0 memberships will be deleted" in confirm.content.decode()
    admin_client.post(url, dict(_hidden_inputs(confirm.content.decode())))
    assert Customer.objects.count() == 600
    assert not Customer.objects.filter(gender="female").exists()


def test_admin_delete_selected_on_one_page_deletes_just_those(admin_client, demo_with_run):
    chosen = list(Customer.objects.order_by("external_id").values_list("pk", flat=True)[:3])
    confirm = admin_client.post(CHANGELIST, {"action": "delete_selected", "index": "0", "_selected_action": chosen})
    html = confirm.content.decode()
    assert "3 customers and 3 memberships will be deleted" in html
    admin_client.post(CHANGELIST, dict(_hidden_inputs(html)) | {"_selected_action": chosen})
    assert Customer.objects.count() == 2037
    assert not Customer.objects.filter(pk__in=chosen).exists()
    assert Membership.objects.count() == 2037


def test_admin_delete_selected_asks_again_when_the_selection_grew(admin_client):
    _real_customers(150)
    confirm = _select_across(admin_client)
    data = dict(_hidden_inputs(confirm.content.decode()))
    _real_customers(5, prefix="LATE-")  # imported between the confirmation and the click
    again = admin_client.post(CHANGELIST, data)
    assert again.status_code == 200
    assert "it now holds 155 customers (shown: 150)" in again.content.decode()
    assert Customer.objects.count() == 155
    admin_client.post(CHANGELIST, dict(_hidden_inputs(again.content.decode())))
    assert Customer.objects.count() == 0


def test_marketer_has_no_delete_action(marketer_client):
    _real_customers(3)
    html = marketer_client.get(CHANGELIST).content.decode()
    assert 'value="delete_selected"' not in html
    ids = list(Customer.objects.values_list("pk", flat=True))
    marketer_client.post(
        CHANGELIST, {"action": "delete_selected", "select_across": "1", "index": "0", "_selected_action": ids}
    )
    assert Customer.objects.count() == 3
