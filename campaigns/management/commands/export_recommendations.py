"""`python manage.py export_recommendations [--n 10] [--output PATH]`: the active run's lists as CSV."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.recommendations import selectors, services


class Command(BaseCommand):
    help = "Write every customer's recommended products as CSV: external_id, rank, sku, description, score, reason."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--n", type=int, default=10, help="Products per customer (default 10)")
        parser.add_argument("--output", help="File to write (default: standard output)")

    def handle(self, *args, **options) -> None:
        if options["n"] < 1:
            raise CommandError(f"--n: expected a whole number of at least 1, got {options['n']}")
        if selectors.recommendation_run_active() is None:
            raise CommandError("No recommendations yet: run `manage.py recommend` first.")
        if options["output"]:
            with open(options["output"], "w", newline="", encoding="utf-8") as fh:
                count = services.recommendations_export_csv(n=options["n"], out=fh)
            self.stderr.write(f"{count} lines written to {options['output']}")
        else:
            services.recommendations_export_csv(n=options["n"], out=sys.stdout)
