"""python manage.py clv [--calibration-end DATE] [--holdout-end DATE] [--horizon-weeks N] [--no-pareto] [--json]"""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from customers.orders.value_service import customer_value_fit
from segmentation.ml.errors import EngineInputError


def _date(option: str, text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Fit BG/NBD and Gamma-Gamma on the orders in the database and store each customer's P(active), "
        "expected purchases and expected value. With --holdout-end, the fit on the calibration period is "
        "checked against the purchases up to that date, beside a naive baseline."
    )

    def add_arguments(self, parser):
        parser.add_argument("--calibration-end", metavar="DATE", help="last day fitted (default: last order day)")
        parser.add_argument("--holdout-end", metavar="DATE", help="check the fit on purchases up to this day")
        parser.add_argument("--horizon-weeks", type=int, default=52, metavar="N", help="prediction horizon (52)")
        parser.add_argument(
            "--no-pareto", action="store_true", help="skip the Pareto/NBD comparison fit (BG/NBD predicts either way)"
        )
        parser.add_argument("--json", action="store_true", help="print the models, holdout check and status as JSON")

    def handle(self, *args, **options):
        calibration_end = _date("--calibration-end", options["calibration_end"])
        holdout_end = _date("--holdout-end", options["holdout_end"])
        try:
            fit = customer_value_fit(
                calibration_end=calibration_end,
                holdout_end=holdout_end,
                horizon_weeks=options["horizon_weeks"],
                pareto=not options["no_pareto"],
            )
        except EngineInputError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            out = {**fit.params, "status": fit.status, "reason": fit.reason, "stored": fit.customers, "fit": fit.pk}
            self.stdout.write(json.dumps(out, indent=2))
        elif fit.customers:
            self.stdout.write(self._sentence(fit))
        if not fit.customers:
            raise CommandError(fit.reason)

    @staticmethod
    def _sentence(fit) -> str:
        bg = fit.params.get("bgnbd", {})
        text = (
            f"Fit #{fit.pk} ({fit.status}) on purchases to {fit.calibration_end}: lifetime values stored for "
            f"{fit.customers:,} customers. BG/NBD r={bg.get('r')}, alpha={bg.get('alpha')}, a={bg.get('a')}, "
            f"b={bg.get('b')}."
        )
        if fit.reason:
            text += f" {fit.reason}"
        if fit.holdout:
            h = fit.holdout
            text += (
                f" Holdout to {fit.holdout_end}: predicted {h['predicted']:,.0f} repeat purchases, actual "
                f"{h['actual']:,.0f}, naive {h['naive']:,.0f}."
            )
        return text
