"""`python manage.py recommend`: train, evaluate and store product recommendations (a run row).

Without --inline the run is queued for the worker and the command waits for it.
"""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.recommendations import services
from campaigns.recommendations.models import RecommendationRun, RecommendationRunStatus
from core.exceptions import SegmentaError

JSON_METRICS = ("ndcg_at_10", "hit_rate_at_10", "precision_at_10", "recall_at_10", "map_at_10", "coverage")


def run_json(run: RecommendationRun) -> dict:
    """The --json shape: served, customers, products, metrics per model (with per_segment and
    one_prior_order), plus run, status, error and the evaluation."""
    metrics = {}
    for model, values in (run.metrics or {}).items():
        entry = {k: values.get(k) for k in JSON_METRICS}
        entry["customers"] = values.get("customers")
        entry["one_prior_order"] = {k: values.get("one_prior_order", {}).get(k) for k in (*JSON_METRICS, "customers")}
        entry["per_segment"] = {
            key: {"name": seg.get("name"), **{k: seg.get(k) for k in (*JSON_METRICS, "customers")}}
            for key, seg in values.get("per_segment", {}).items()
        }
        metrics[model] = entry
    return {
        "run": run.pk,
        "status": run.status,
        "served": run.served_model or None,
        "served_reason": run.served_reason,
        "customers": run.customers,
        "products": run.products,
        "metrics": metrics,
        "evaluation": run.evaluation,
        "timings": run.timings,
        "error": run.error,
    }


class Command(BaseCommand):
    help = "Train and evaluate the recommenders on the order lines, store every customer's top products."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--inline", action="store_true", help="Run in this process instead of the worker")
        parser.add_argument("--json", action="store_true", help="Print one JSON object with the outcome")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--holdout-from", dest="holdout_from", help="Holdout from this date (YYYY-MM-DD) on")
        group.add_argument("--holdout-days", dest="holdout_days", type=int, help="Hold out the last N days (30)")
        parser.add_argument("--n", type=int, default=10, help="Products stored per customer (default 10)")
        parser.add_argument(
            "--cold-start-below",
            dest="cold_start_below",
            type=int,
            default=None,
            help="Customers with fewer purchase days than N get popularity in their segment, else overall "
            f"(cold start; default {services.DEFAULT_COLD_START_BELOW}: only customers without purchases)",
        )
        parser.add_argument("--timeout", type=float, default=1800.0, help="Seconds to wait for the worker")

    def handle(self, *args, **options) -> None:
        try:
            params = services.recommendation_params(
                holdout_days=options["holdout_days"],
                holdout_from=options["holdout_from"],
                n=options["n"],
                cold_start_below=options.get("cold_start_below"),
            )
            run = services.recommendation_run_request(trigger="command", params=params, enqueue=not options["inline"])
        except SegmentaError as exc:
            raise CommandError(str(exc)) from exc
        if options["inline"]:
            services.recommendation_run_execute(run_id=run.pk)
        else:
            deadline = time.monotonic() + options["timeout"]
            while not RecommendationRun.objects.get(pk=run.pk).is_done:
                if time.monotonic() > deadline:
                    raise CommandError(f"recommendation run #{run.pk} not done after {options['timeout']:.0f} s")
                time.sleep(1)
        run.refresh_from_db()
        if options["json"]:
            self.stdout.write(json.dumps(run_json(run), default=str))
        elif run.status == RecommendationRunStatus.SUCCEEDED:
            served = run.metrics.get(run.served_model, {})
            self.stdout.write(
                f"Run #{run.pk}: served {run.served_model} (NDCG@10 {served.get('ndcg_at_10')}, HitRate@10 "
                f"{served.get('hit_rate_at_10')}) for {run.customers} customers. {run.served_reason}"
            )
        if run.status != RecommendationRunStatus.SUCCEEDED:
            raise CommandError(f"recommendation run #{run.pk} failed at {run.stage}: {run.error}")
