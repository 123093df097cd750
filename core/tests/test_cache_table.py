"""`migrate` alone makes the database cache's table (PostgreSQL without Redis uses that cache)."""

from __future__ import annotations

import importlib

import pytest
from django.core.cache import caches
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)

migration = importlib.import_module("core.migrations.0002_database_cache_table")


def test_the_migration_creates_the_database_cache_table(settings):
    table = "segmenta_cache_migration_test"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": table}}
    try:
        with connection.schema_editor() as editor:
            migration.cache_table_create(None, editor)
        assert table in connection.introspection.table_names()
        caches["default"].set("greeting", "hello")
        assert caches["default"].get("greeting") == "hello"
        with connection.schema_editor() as editor:  # again: nothing to do, no error
            migration.cache_table_create(None, editor)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
