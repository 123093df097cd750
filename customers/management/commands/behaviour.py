"""python manage.py behaviour [--as-of DATE] [--json]"""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DataError
from customers.orders.behaviour import behaviour_compute


class Command(BaseCommand):
    help = (
        "Compute each customer's purchase behaviour from the orders (recency, frequency, monetary, average order "
        "value, tenure, days between orders, return rate, distinct products, first and last purchase) as of a day, "
        "and store it in the derived customer columns."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of", metavar="DATE", help="the day behaviour is computed as of (default: last order day)"
        )
        parser.add_argument("--json", action="store_true", help="print as_of, customers, cleared, columns as JSON")

    def handle(self, *args, **options):
        as_of = None
        if options["as_of"]:
            try:
                as_of = dt.date.fromisoformat(options["as_of"])
            except ValueError:
                raise CommandError(f"--as-of: {options['as_of']!r} is not a date (YYYY-MM-DD)") from None
        try:
            result = behaviour_compute(as_of=as_of)
        except DataError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
        if result.as_of is None:
            raise CommandError(result.reason)
        if not options["json"]:
            self.stdout.write(
                f"Behaviour as of {result.as_of}: {result.customers:,} customers computed, "
                f"{result.cleared:,} without a purchase cleared ({result.duration_ms} ms)."
            )
