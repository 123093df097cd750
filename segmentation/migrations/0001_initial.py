"""The segmentation app's tables, and on PostgreSQL the membership table partitioned by run.

On PostgreSQL the membership table is PARTITION BY LIST (run_id) with a default partition: each
run's memberships are written as the run's own partition (segmentation.services.memberships).
"""

import django.db.models.deletion
import segmentation.models
import segmentation.validators
from django.conf import settings
from django.db import migrations, models
from psycopg import sql

PARENT = "segmentation_membership"


def partition_by_run(apps, schema_editor):
    """PostgreSQL: recreate the membership table as PARTITION BY LIST (run_id), same columns and indexes."""
    if schema_editor.connection.vendor != "postgresql":
        return
    parent, flat = sql.Identifier(PARENT), sql.Identifier(f"{PARENT}_flat")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s",
            [PARENT],
        )
        indexes = cursor.fetchall()
        cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [PARENT])
        (pk_name,) = cursor.fetchone()
        cursor.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(parent, flat))
        cursor.execute(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS) PARTITION BY LIST (run_id)").format(parent, flat)
        )
        cursor.execute(sql.SQL("DROP TABLE {}").format(flat))
        cursor.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY (customer_id, run_id)").format(
                parent, sql.Identifier(pk_name)
            )
        )
        for name, definition in indexes:
            if name != pk_name:
                cursor.execute(definition)  # names the parent, which now is the partitioned table
        cursor.execute(sql.SQL("CREATE TABLE {} PARTITION OF {} DEFAULT").format(sql.Identifier(f"{PARENT}_default"), parent))


def flat_again(apps, schema_editor):
    """Reverse: nothing to do, reversing CreateModel drops the partitioned table."""


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('customers', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PlaybookRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, unique=True)),
                ('priority', models.PositiveIntegerField(default=100, help_text='Lower numbers are tried first')),
                ('active', models.BooleanField(default=True)),
                ('flags', models.JSONField(blank=True, default=list, help_text='Flags the segment must all carry, e.g. ["upsell"]')),
                ('conditions', models.JSONField(blank=True, default=list, help_text='Profile conditions, all must hold: [{"feature": "age", "stat": "z", "op": "lte", "value": -0.5}]')),
                ('actions', models.TextField(help_text="The recommended marketing actions (becomes the segment's strategy)")),
                ('rationale', models.TextField(blank=True, help_text='Why these actions fit this kind of segment')),
                ('builtin', models.BooleanField(default=False, help_text='Shipped with the product')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ['priority', 'id'],
            },
        ),
        migrations.CreateModel(
            name='Segmentation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, unique=True)),
                ('description', models.TextField(blank=True)),
                ('features', models.JSONField(default=segmentation.models.default_features)),
                ('scaler', models.CharField(choices=[('minmax', 'Min-max (0 to 1)'), ('standard', 'Standard (z-score)'), ('robust', 'Robust (median / IQR)')], default='minmax', max_length=16)),
                ('k', models.PositiveSmallIntegerField(blank=True, help_text='Fixed number of segments; empty = auto', null=True)),
                ('k_min', models.PositiveSmallIntegerField(default=2)),
                ('k_max', models.PositiveSmallIntegerField(default=10)),
                ('age_groups', models.BooleanField(default=False)),
                ('age_bins', models.JSONField(blank=True, default=segmentation.models.default_age_bins)),
                ('missing_policy', models.CharField(choices=[('drop', 'Drop the row'), ('median', 'Impute the median'), ('most_frequent', 'Impute the most frequent value')], default='drop', max_length=16)),
                ('random_state', models.IntegerField(default=42)),
                ('schedule', models.CharField(blank=True, help_text='Cron expression (m h dom mon dow) for scheduled runs; empty = none', max_length=64, validators=[segmentation.validators.cron_schedule_validator])),
                ('version', models.PositiveIntegerField(default=0, help_text='Bumped by every run request')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ['name'],
                'permissions': [('run_segmentation', 'Can start a re-segmentation')],
            },
        ),
        migrations.CreateModel(
            name='SegmentRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version', models.PositiveIntegerField(help_text="The segmentation's version when this run was requested")),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('superseded', 'Superseded')], db_index=True, default='queued', max_length=16)),
                ('stage', models.CharField(blank=True, max_length=64)),
                ('progress', models.PositiveSmallIntegerField(default=0, help_text='Percent done')),
                ('params', models.JSONField(default=dict, help_text='The configuration frozen at request time')),
                ('evidence', models.JSONField(blank=True, default=dict, help_text="Every criterion per k and each one's choice")),
                ('chosen_k', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('k_reason', models.TextField(blank=True)),
                ('quality', models.JSONField(blank=True, default=dict)),
                ('model', models.JSONField(blank=True, default=dict, help_text='Fitted preprocessing and centroids')),
                ('error', models.TextField(blank=True)),
                ('trigger', models.CharField(default='manual', help_text='manual, admin, command, schedule', max_length=16)),
                ('queued_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                ('worker', models.CharField(blank=True, max_length=255)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('rows_used', models.PositiveIntegerField(blank=True, null=True)),
                ('rows_dropped', models.PositiveIntegerField(blank=True, null=True)),
                ('requested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('segmentation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='runs', to='segmentation.segmentation')),
            ],
            options={
                'ordering': ['-queued_at', '-id'],
            },
        ),
        migrations.AddField(
            model_name='segmentation',
            name='active_run',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='segmentation.segmentrun'),
        ),
        migrations.CreateModel(
            name='Segment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('label', models.PositiveSmallIntegerField()),
                ('name', models.CharField(max_length=120)),
                ('size', models.PositiveIntegerField()),
                ('share', models.FloatField()),
                ('centroid', models.JSONField(default=dict, help_text='Centroid by feature, in real units')),
                ('profile', models.JSONField(default=dict, help_text='Per feature: mean, median, min, max, z')),
                ('flags', models.JSONField(default=list)),
                ('color', models.CharField(blank=True, max_length=7)),
                ('lineage', models.CharField(blank=True, db_index=True, help_text='Stable id of the same group across runs', max_length=36)),
                ('strategy', models.TextField(blank=True)),
                ('strategy_source', models.CharField(default='playbook', help_text='playbook, override (edited) or carried (from a previous run)', max_length=16)),
                ('strategy_needs_review', models.BooleanField(default=False)),
                ('strategy_edited_at', models.DateTimeField(blank=True, null=True)),
                ('strategy_edited_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='segments', to='segmentation.segmentrun')),
            ],
            options={
                'ordering': ['run', 'label'],
                'permissions': [('edit_strategy', "Can edit a segment's strategy")],
            },
        ),
        migrations.CreateModel(
            name='Membership',
            fields=[
                ('pk', models.CompositePrimaryKey('customer', 'run', blank=True, editable=False, primary_key=True, serialize=False)),
                ('distance', models.FloatField()),
                ('fitted', models.BooleanField(default=True)),
                ('customer', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='customers.customer')),
                ('segment', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='segmentation.segment')),
                ('run', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='segmentation.segmentrun')),
            ],
        ),
        migrations.AddConstraint(
            model_name='segmentrun',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'running')), fields=('segmentation',), name='one_running_run_per_segmentation'),
        ),
        migrations.AddConstraint(
            model_name='segmentation',
            constraint=models.CheckConstraint(condition=models.Q(('k_min__gte', 2), ('k_max__gte', models.F('k_min')), ('k_max__lte', 50)), name='seg_k_range'),
        ),
        migrations.AddConstraint(
            model_name='segmentation',
            constraint=models.CheckConstraint(condition=models.Q(('k__isnull', True), models.Q(('k__gte', 2), ('k__lte', 50)), _connector='OR'), name='seg_k_allowed'),
        ),
        migrations.AddConstraint(
            model_name='segment',
            constraint=models.UniqueConstraint(fields=('run', 'label'), name='segment_label_unique_in_run'),
        ),
        migrations.AddIndex(
            model_name='membership',
            index=models.Index(fields=['segment', 'customer'], name='membership_segment_customer'),
        ),
        migrations.CreateModel(
            name='RunPin',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('holder', models.CharField(help_text='Who holds the run, as "kind:id", e.g. "campaign:12"', max_length=100)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='pins', to='segmentation.segmentrun')),
            ],
            options={
                'ordering': ['run', 'holder'],
                'indexes': [models.Index(fields=['holder'], name='run_pin_holder')],
                'constraints': [models.UniqueConstraint(fields=('run', 'holder'), name='run_pin_unique_holder')],
            },
        ),
        migrations.RunPython(partition_by_run, flat_again),
    ]
