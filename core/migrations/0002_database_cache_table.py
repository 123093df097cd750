"""The cache table, when the configured cache is the database one (PostgreSQL without Redis).

`manage.py migrate` alone then leaves a working site: without the table every page that reads the cache
would fail. `createcachetable` does nothing for other caches and for a table that exists, so running it
again (e.g. after configuring the database cache later: `manage.py createcachetable`) is safe.
"""

from django.core.management import call_command
from django.db import migrations


def cache_table_create(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(cache_table_create, migrations.RunPython.noop)]
