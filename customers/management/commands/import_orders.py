"""python manage.py import_orders PATH [--map SOURCE=FIELD ...] [--columns NAME,-,...] [--day-first]
[--skip-invalid] [--dry-run] [--json]"""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DataError
from customers.imports.columns import mapping_parse
from customers.orders.columns import ORDER_FIELDS
from customers.orders.service import order_import

JSON_KEYS = (
    "lines",
    "imported",
    "with_customer",
    "without_customer",
    "cancellations",
    "non_product",
    "customers_created",
)


class Command(BaseCommand):
    help = (
        "Import order lines from a CSV, TSV, whitespace-separated or .xlsx file, also .gz. Headers map "
        "automatically (Online Retail, CDNOW and the usual names); re-importing an order id replaces its "
        "lines. A file with any invalid line changes nothing unless --skip-invalid is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the order file")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="SOURCE=FIELD",
            help=f"use column SOURCE for FIELD (one of {', '.join(ORDER_FIELDS)}); repeatable",
        )
        parser.add_argument(
            "--columns",
            default="",
            metavar="NAME,NAME,...",
            help="the file has no header row: name its columns in order, '-' to skip one "
            "(e.g. customer_id,-,date,quantity,amount)",
        )
        parser.add_argument("--day-first", action="store_true", help="read 1/12/2010 as 1 December 2010")
        parser.add_argument("--skip-invalid", action="store_true", help="import the valid lines, report the others")
        parser.add_argument("--dry-run", action="store_true", help="read, check and count; change nothing")
        parser.add_argument(
            "--no-behaviour",
            action="store_true",
            help="do not recompute the customers' behaviour after the import (loading several files: run "
            "`manage.py behaviour` once after the last)",
        )
        parser.add_argument("--json", action="store_true", help="print the summary's counts as JSON")
        parser.add_argument("--user", metavar="USERNAME", help="record the import as done by this user")

    def handle(self, *args, **options):
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        user = None
        if options["user"]:
            try:
                user = get_user_model().objects.get_by_natural_key(options["user"])
            except get_user_model().DoesNotExist:
                raise CommandError(f"--user: no user named {options['user']!r}") from None
        try:
            job = order_import(
                file=path,
                file_name=path.name,
                user=user,
                source="command",
                mapping=mapping_parse(options["map"]),
                columns=options["columns"],
                day_first=options["day_first"],
                skip_invalid=options["skip_invalid"],
                dry_run=options["dry_run"],
                behaviour=not options["no_behaviour"],
            )
        except DataError as exc:
            raise CommandError(f"{path.name}: {exc}") from None
        counts = job.counts
        if options["json"]:
            self.stdout.write(json.dumps({key: counts[key] for key in JSON_KEYS}))
            return
        self.stdout.write(
            f"{path.name}: {counts['lines']:,} lines, {counts['imported']:,} "
            f"{'would be imported' if options['dry_run'] else 'imported'} ({counts['with_customer']:,} with a "
            f"customer, {counts['without_customer']:,} without), {counts['orders']:,} orders, "
            f"{counts['cancellations']:,} cancellation lines, {counts['returns']:,} returns, "
            f"{counts['non_product']:,} non-product lines, {counts['customers_created']:,} customers created, "
            f"{counts['rejected']:,} rejected ({job.duration_ms} ms, order import #{job.pk})"
        )
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was changed.")
        else:
            self.stdout.write(self.style.SUCCESS("Import committed."))
