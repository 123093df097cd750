"""python manage.py import_customers PATH [--map SOURCE=FIELD ...] [--number-rows] [--skip-invalid] [--dry-run]
[--rejected-out PATH]"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DataError
from customers.imports.columns import CANONICAL_FIELDS, mapping_parse
from customers.imports.service import customer_import


class Command(BaseCommand):
    help = (
        "Import customers from a CSV, TSV or .xlsx file. Headers map automatically; "
        "re-importing updates customers by id. A file with any invalid row changes nothing "
        "unless --skip-invalid is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the CSV, TSV or .xlsx file")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="SOURCE=FIELD",
            help=f"use column SOURCE for FIELD (one of {', '.join(CANONICAL_FIELDS)}); repeatable, "
            'e.g. --map "Client Ref=external_id"',
        )
        parser.add_argument(
            "--skip-invalid", action="store_true", help="import the valid rows and report the rejected ones"
        )
        parser.add_argument(
            "--number-rows",
            action="store_true",
            help="the file has no id column: each customer's id is the file name's stem and its row number "
            "(wholesale-2 for the first data row of wholesale.csv). Re-importing a file of the same name "
            "updates the same rows by position; a file of another name adds new customers",
        )
        parser.add_argument("--dry-run", action="store_true", help="validate and count, change nothing")
        parser.add_argument(
            "--rejected-out", metavar="PATH", help="write the rejected rows, with the reason for each, to this CSV"
        )
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
            mapping = mapping_parse(options["map"])
            result = customer_import(
                file=path,
                file_name=path.name,
                user=user,
                source="command",
                mapping=mapping,
                skip_invalid=options["skip_invalid"],
                number_rows=options["number_rows"],
                dry_run=options["dry_run"],
                rejected_out=options["rejected_out"] or None,
            )
        except DataError as exc:
            raise CommandError(f"{path.name}: {exc}") from None

        verb = "would add" if result.dry_run else "added"
        self.stdout.write(
            f"{path.name}: {result.rows_total} rows, {result.added} {verb}, {result.updated} "
            f"{'would be updated' if result.dry_run else 'updated'}, {result.rejected} rejected "
            f"({result.job.duration_ms} ms, import #{result.job.pk})"
        )
        for note in result.job.notes:
            self.stdout.write(f"Note: {note}")
        if result.dry_run:
            self.stdout.write("Dry run: nothing was changed.")
        if result.rejected:
            out = options["rejected_out"]
            if out:
                self.stdout.write(f"Rejected rows with the reason for each: {out}")
            else:
                self.stdout.write("Rejected rows (use --rejected-out PATH to save them as CSV):")
                for line in result.rejected_sample.splitlines()[1:21]:
                    self.stdout.write(f"  {line}")
                if result.rejected > 20:
                    self.stdout.write(f"  ... and {result.rejected - 20} more")
        if not result.dry_run:
            self.stdout.write(self.style.SUCCESS("Import committed."))
