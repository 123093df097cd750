"""The attribute role and unit migration fills existing attributes from their headers."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("customers", "0002_drop_gender_index")]
AFTER = [("customers", "0003_attribute_role_unit_import_notes")]


def test_existing_attributes_get_roles_and_units():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("customers", "CustomerAttribute")
    for key, label, kind in [
        ("fresh", "Fresh", "number"),
        ("mnt_wines", "MntWines", "number"),
        ("revenue", "Revenue ($)", "number"),
        ("channel", "Channel", "text"),
        ("notes", "Notes", "text"),
    ]:
        old.objects.create(key=key, label=label, kind=kind)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("customers", "CustomerAttribute")
    assert {a.key: (a.role, a.unit) for a in new.objects.all()} == {
        "fresh": ("monetary", ""),
        "mnt_wines": ("monetary", ""),
        "revenue": ("monetary", "$"),
        "channel": ("demographic", ""),
        "notes": ("other", ""),
    }
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
