"""Membership: composite primary key (customer, run) and, on PostgreSQL, one partition per run.

Nothing was released with the earlier shape, so the table is recreated (memberships of earlier
development runs are dropped; re-run a segmentation to recompute them).
"""

import django.db.models.deletion
from django.db import migrations, models

PARENT = "segmentation_membership"


def partition_by_run(apps, schema_editor):
    """PostgreSQL: recreate the table as PARTITION BY LIST (run_id), same columns and indexes, plus a default."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s",
            [PARENT],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [PARENT]
        )
        (pk_name,) = cursor.fetchone()
        cursor.execute(f'ALTER TABLE "{PARENT}" RENAME TO "{PARENT}_flat"')
        cursor.execute(
            f'CREATE TABLE "{PARENT}" (LIKE "{PARENT}_flat" INCLUDING DEFAULTS) PARTITION BY LIST (run_id)'
        )
        cursor.execute(f'DROP TABLE "{PARENT}_flat"')
        cursor.execute(f'ALTER TABLE "{PARENT}" ADD CONSTRAINT "{pk_name}" PRIMARY KEY (customer_id, run_id)')
        for name, definition in indexes:
            if name == pk_name:
                continue
            cursor.execute(definition)  # names the parent, which now is the partitioned table
        cursor.execute(f'CREATE TABLE "{PARENT}_default" PARTITION OF "{PARENT}" DEFAULT')


def flat_again(apps, schema_editor):
    """Reverse: nothing to do, DeleteModel of the reversed CreateModel drops the partitioned table."""


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0001_initial'),
        ('segmentation', '0002_membership_bulk_write'),
    ]

    operations = [
        migrations.DeleteModel(name='Membership'),
        migrations.CreateModel(
            name='Membership',
            fields=[
                ('pk', models.CompositePrimaryKey('customer', 'run', blank=True, editable=False, primary_key=True, serialize=False)),
                ('distance', models.FloatField()),
                ('fitted', models.BooleanField(default=True)),
                ('customer', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='customers.customer')),
                ('run', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='segmentation.segmentrun')),
                ('segment', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='segmentation.segment')),
            ],
            options={
                'indexes': [models.Index(fields=['segment', 'customer'], name='membership_segment_customer')],
            },
        ),
        migrations.RunPython(partition_by_run, flat_again),
    ]
