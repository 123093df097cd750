"""seed_demo: synthetic customers with planted groups, deterministic, and the demo login."""

from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from core.models import Activity
from customers.demo import PLANTED_GROUPS, demo_customers, demo_group_sizes
from customers.models import Customer, CustomerAttribute


def run(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


# --- the generator (pure) ---------------------------------------------------------------------


def test_generator_is_deterministic_under_seed():
    a = demo_customers(n=300, seed=7)
    b = demo_customers(n=300, seed=7)
    c = demo_customers(n=300, seed=8)
    assert a.equals(b)
    assert not a.equals(c)
    assert list(a.columns) == ["external_id", "gender", "age", "annual_income", "spending_score", "group"]


def test_generator_ranges_and_ids():
    frame = demo_customers(n=2000, seed=7)
    assert len(frame) == 2000 and frame["external_id"].is_unique
    assert frame["external_id"].iloc[0] == "DEMO-00001"
    assert frame["age"].between(18, 70).all()
    assert frame["spending_score"].between(1, 100).all()
    assert (frame["annual_income"] >= 15).all()
    assert set(frame["gender"]) == {"female", "male"}
    assert 0.45 < (frame["gender"] == "female").mean() < 0.65


def test_generator_plants_five_groups_of_different_behaviour():
    frame = demo_customers(n=2000, seed=7)
    assert frame["group"].value_counts().sort_index().tolist() == demo_group_sizes(2000) == [800, 400, 360, 220, 220]
    means = frame.groupby("group")[["annual_income", "spending_score"]].mean()
    for index, group in enumerate(PLANTED_GROUPS):
        assert abs(means.loc[index, "annual_income"] - group.income_mean) < 3
        assert abs(means.loc[index, "spending_score"] - group.score_mean) < 3
    # the groups are apart: every pair of centres differs by > 20 in income or in score
    centres = means.to_numpy()
    for i in range(5):
        for j in range(i + 1, 5):
            assert np.abs(centres[i] - centres[j]).max() > 20


def test_group_sizes_sum_for_any_n():
    for n in (0, 1, 7, 199, 2001):
        assert sum(demo_group_sizes(n)) == n
    assert len(demo_customers(n=0)) == 0


# --- the command ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_creates_customers_and_demo_login():
    out = run("--customers", "500")
    assert "500 added, 0 updated" in out
    assert Customer.objects.count() == 500
    assert Customer.objects.filter(attributes__source="synthetic demo").count() == 500
    assert CustomerAttribute.objects.get(key="source").kind == "text"
    frame = demo_customers(n=500, seed=7)
    first = Customer.objects.get(external_id="DEMO-00001")
    assert (first.gender, first.age, first.spending_score) == (
        frame.loc[0, "gender"],
        frame.loc[0, "age"],
        frame.loc[0, "spending_score"],
    )
    demo = get_user_model().objects.get(username="demo")
    assert demo.is_staff and demo.groups.filter(name="Admin").exists()
    assert authenticate(username="demo", password="demo") == demo
    assert "user 'demo', password demo" in out
    assert Activity.objects.filter(verb="customers.seed_demo").count() == 1


@pytest.mark.django_db
def test_seed_demo_default_is_2000_customers():
    run()
    assert Customer.objects.count() == 2000


@pytest.mark.django_db
def test_seed_demo_is_deterministic_and_upserts():
    run("--customers", "200", "--seed", "3")
    before = list(Customer.objects.order_by("external_id").values_list("external_id", "gender", "age", "annual_income"))
    out = run("--customers", "200", "--seed", "3")
    assert "0 added, 200 updated" in out
    after = list(Customer.objects.order_by("external_id").values_list("external_id", "gender", "age", "annual_income"))
    assert before == after
    run("--customers", "200", "--seed", "4")
    changed = list(
        Customer.objects.order_by("external_id").values_list("external_id", "gender", "age", "annual_income")
    )
    assert changed != before and Customer.objects.count() == 200


@pytest.mark.django_db
def test_reset_deletes_earlier_demo_customers_only():
    Customer.objects.create(external_id="REAL-1", age=30)
    run("--customers", "300")
    out = run("--customers", "100", "--reset")
    assert "300 earlier demo customers deleted" in out
    assert Customer.objects.count() == 101
    assert Customer.objects.filter(external_id="REAL-1").exists()


@pytest.mark.django_db
def test_if_empty_leaves_existing_customers_but_makes_the_demo_login():
    Customer.objects.create(external_id="REAL-1", age=30)
    out = run("--if-empty")
    assert "no demo customers added" in out
    assert Customer.objects.count() == 1
    assert get_user_model().objects.filter(username="demo").exists()


@pytest.mark.django_db
def test_if_empty_seeds_an_empty_database():
    run("--if-empty", "--customers", "50")
    assert Customer.objects.count() == 50


@pytest.mark.django_db
def test_demo_password_comes_from_settings(settings):
    settings.DEMO_PASSWORD = "s3cret-demo"
    out = run("--customers", "10")
    assert authenticate(username="demo", password="s3cret-demo") is not None
    assert "s3cret-demo" not in out


@pytest.mark.django_db
def test_no_demo_user_under_production_settings(settings):
    settings.SEGMENTA_ALLOW_DEMO_USER = False
    out = run("--customers", "10")
    assert not get_user_model().objects.filter(username="demo").exists()
    assert "Demo login not created: SEGMENTA_ALLOW_DEMO_USER is False" in out
    assert Customer.objects.count() == 10


@pytest.mark.django_db
def test_negative_count_is_refused():
    with pytest.raises(CommandError, match="--customers: expected 0 or more; got -5"):
        run("--customers", "-5")


def test_help_says_the_data_is_synthetic():
    from customers.management.commands.seed_demo import Command

    assert "SYNTHETIC" in Command.help and "synthetic demo" in Command.help
