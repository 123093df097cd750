"""The permissions backend: Django's ModelBackend with a user's permissions read in one query.

ModelBackend reads a user's own permissions and their groups' permissions in two ORM queries on the first
permission check of every request; every page and API call checks at least one. This backend reads both in one
plain query (about a tenth of the Python time at 1M customers' page rates) and keeps the result on the user
object for the rest of the request, exactly as ModelBackend does: nothing is cached across requests, so a
permission granted or removed counts from the next request on. Superusers, inactive users and object
permissions behave as in ModelBackend.

It answers permissions only (never authenticates) and stands before ModelBackend in AUTHENTICATION_BACKENDS:
ModelBackend still logs users in and keeps their sessions, and finds the permissions already read (`_perm_cache`).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection


class OneQueryPermissionBackend(ModelBackend):
    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any):
        return None  # ModelBackend (after this one) logs users in

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None or user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = user_permissions(user_id=user_obj.pk)
        return user_obj._perm_cache


def user_permissions(*, user_id: int) -> set[str]:
    """'app_label.codename' of every permission the user holds directly or through a group."""
    user = get_user_model()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ct.app_label, p.codename FROM {Permission._meta.db_table} p "  # noqa: S608 - table names only
            f"JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id "
            f"WHERE p.id IN (SELECT permission_id FROM {user.user_permissions.through._meta.db_table} "
            f"WHERE user_id = %s UNION SELECT gp.permission_id FROM {Group.permissions.through._meta.db_table} gp "
            f"JOIN {user.groups.through._meta.db_table} ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s)",
            [user_id, user_id],
        )
        return {f"{app}.{codename}" for app, codename in cursor.fetchall()}
