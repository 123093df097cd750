"""The permissions backend: a user's permissions in one query, the same answers as Django's ModelBackend, and a
grant or removal counted from the next request on."""

from __future__ import annotations

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.permissions import OneQueryPermissionBackend
from core.roles import MARKETER, VIEWER
from tests.fixtures import make_user

pytestmark = [pytest.mark.django_db]


def _fresh(user):
    return type(user).objects.get(pk=user.pk)


def test_the_same_permissions_as_model_backend_in_one_query(django_user_model):
    user = make_user(django_user_model, "pat-perms", MARKETER)
    user.user_permissions.add(Permission.objects.get(codename="run_segmentation"))
    with CaptureQueriesContext(connection) as queries:
        ours = OneQueryPermissionBackend().get_all_permissions(_fresh(user))
    assert len(queries) == 2  # the user, then every permission
    assert ours == ModelBackend().get_all_permissions(_fresh(user))
    assert {"segmentation.run_segmentation", "customers.view_customer"} <= ours


def test_one_permission_query_per_request_however_many_checks(django_user_model):
    user = _fresh(make_user(django_user_model, "vic-viewer", VIEWER))
    with CaptureQueriesContext(connection) as queries:
        assert user.has_perm("customers.view_customer")
        assert not user.has_perm("customers.export_customers")  # denied: ModelBackend asks again, from the cache
        assert user.has_perms(["segmentation.view_segment", "campaigns.view_campaign"])
    assert len(queries) == 1


def test_a_grant_or_removal_counts_from_the_next_request(django_user_model, client):
    user = make_user(django_user_model, "gil-grant", None)
    client.force_login(user)
    assert client.get("/customers/").status_code == 403
    user.groups.add(Group.objects.get(name=VIEWER))
    assert client.get("/customers/").status_code == 200
    user.groups.clear()
    assert client.get("/customers/").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_customer", content_type__app_label="customers"))
    assert client.get("/customers/").status_code == 200


def test_superusers_inactive_users_and_objects_as_in_model_backend(django_user_model):
    boss = django_user_model.objects.create_superuser(username="sue-super", password="pw-sue-super")
    assert OneQueryPermissionBackend().get_all_permissions(_fresh(boss)) == ModelBackend().get_all_permissions(
        _fresh(boss)
    )
    idle = make_user(django_user_model, "ian-inactive", MARKETER)
    idle.is_active = False
    idle.save()
    assert OneQueryPermissionBackend().get_all_permissions(_fresh(idle)) == set()
    assert OneQueryPermissionBackend().get_all_permissions(_fresh(boss), obj=object()) == set()


def test_it_never_logs_anyone_in(django_user_model, rf):
    make_user(django_user_model, "lou-login", VIEWER)
    assert OneQueryPermissionBackend().authenticate(rf.get("/"), username="lou-login", password="pw-lou-login") is None
