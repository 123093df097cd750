"""Shared fixtures: personas (admin, marketer, viewer, anonymous) and the shared datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from core.roles import ADMIN, MARKETER, VIEWER

REPO = Path(__file__).resolve().parent.parent


def datasets_dir() -> Path:
    return Path(os.environ.get("SEGMENTA_DATASETS", str(REPO.parent / "shared" / "datasets")))


@pytest.fixture
def datasets() -> Path:
    """The shared datasets folder; skips (never in CI) when it is absent."""
    folder = datasets_dir()
    if not folder.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"SEGMENTA_DATASETS folder {folder} is missing in CI")
        pytest.skip(f"shared datasets not found at {folder} (set SEGMENTA_DATASETS)")
    return folder


@pytest.fixture
def mall_csv(datasets: Path) -> Path:
    return datasets / "mall_customers.csv"


def make_user(django_user_model, username: str, role: str | None, *, staff: bool = False):
    user = django_user_model.objects.create_user(username=username, password="pw-" + username)
    user.is_staff = staff
    user.save()
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def admin_user(db, django_user_model):
    return make_user(django_user_model, "alice-admin", ADMIN, staff=True)


@pytest.fixture
def marketer_user(db, django_user_model):
    return make_user(django_user_model, "mark-marketer", MARKETER, staff=True)


@pytest.fixture
def viewer_user(db, django_user_model):
    return make_user(django_user_model, "vera-viewer", VIEWER)


@pytest.fixture
def outsider_user(db, django_user_model):
    """Logged in but with no role at all."""
    return make_user(django_user_model, "olly-outsider", None)


def _client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def admin_client(admin_user) -> Client:  # noqa: F811 - overrides pytest-django's admin_client on purpose
    return _client_for(admin_user)


@pytest.fixture
def marketer_client(marketer_user) -> Client:
    return _client_for(marketer_user)


@pytest.fixture
def viewer_client(viewer_user) -> Client:
    return _client_for(viewer_user)


@pytest.fixture
def anon_client() -> Client:
    return Client()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: cached figures are keyed on ids and versions that a rolled-back test
    database (SQLite reuses ids) can repeat."""
    from django.core.cache import cache

    cache.clear()
    yield
