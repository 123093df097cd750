"""`python manage.py segment`: run a segmentation, in this process (--inline) or through the worker.

Options given on the command line override the segmentation's configuration for this run only
(they are frozen in the run's params); the saved segmentation is not changed. Without
--segmentation the default segmentation is used (and created with the defaults if missing).
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.exceptions import SegmentaError
from segmentation.ml.config import SCALERS, TRANSFORMS
from segmentation.models import RunStatus
from segmentation.selectors import runs as selectors
from segmentation.services import runs
from segmentation.services.config import segmentation_get_or_create_default


def _scalers_value(pairs: list[str]) -> dict[str, str]:
    """["annual_income=robust", "age=none"] -> {"annual_income": "robust", "age": "none"}."""
    out = {}
    for pair in pairs:
        feature, sep, scaler = (part.strip() for part in pair.partition("="))
        if not sep or not feature or not scaler:
            raise CommandError(f"--scaler-for: expected FEATURE=SCALER (e.g. annual_income=robust); got {pair!r}")
        out[feature] = scaler
    return out


def _k_value(raw: str) -> int | None:
    if raw.strip().lower() == "auto":
        return None
    try:
        return int(raw)
    except ValueError:
        raise CommandError(f"--k: expected auto or a whole number; got {raw!r}") from None


class Command(BaseCommand):
    help = "Segment the customers: choose k with evidence, fit, and activate the result."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--segmentation", help="Name of the segmentation (default: the default one)")
        parser.add_argument("--features", help="Comma-separated features, e.g. annual_income,spending_score")
        parser.add_argument("--k", help="auto, or a fixed number of segments")
        parser.add_argument("--k-min", type=int, dest="k_min")
        parser.add_argument("--k-max", type=int, dest="k_max")
        parser.add_argument("--scaler", choices=list(SCALERS), help="default minmax")
        parser.add_argument(
            "--scaler-for",
            action="append",
            dest="scalers",
            metavar="FEATURE=SCALER",
            help="one feature's own scaler, overriding --scaler for it (repeatable), e.g. annual_income=robust",
        )
        parser.add_argument(
            "--transform",
            choices=list(TRANSFORMS),
            help="log1p before scaling: auto (where a feature is heavily skewed; default), none, log (every feature)",
        )
        parser.add_argument(
            "--min-share",
            type=float,
            dest="min_share",
            metavar="FRACTION",
            help="auto k: a k with a segment below this share of members is no candidate (default 0.02)",
        )
        parser.add_argument("--seed", type=int, help="random_state")
        parser.add_argument("--inline", action="store_true", help="Run in this process instead of the worker")
        parser.add_argument("--json", action="store_true", help="Print one JSON object with the outcome")
        parser.add_argument(
            "--if-no-active",
            action="store_true",
            dest="if_no_active",
            help="Do nothing when the segmentation already has active segments (used by make run)",
        )
        parser.add_argument("--timeout", type=float, default=600.0, help="Seconds to wait for the worker (default 600)")

    def handle(self, *args, **options) -> None:
        overrides: dict = {}
        if options["features"] is not None:
            overrides["features"] = [f.strip() for f in options["features"].split(",") if f.strip()]
        if options["k"] is not None:
            overrides["k"] = _k_value(options["k"])
        if options["scalers"]:
            overrides["scalers"] = _scalers_value(options["scalers"])
        for opt, key in (
            ("k_min", "k_min"),
            ("k_max", "k_max"),
            ("scaler", "scaler"),
            ("seed", "random_state"),
            ("transform", "transform"),
            ("min_share", "min_share"),
        ):
            if options[opt] is not None:
                overrides[key] = options[opt]
        try:
            if options["segmentation"]:
                segmentation = selectors.segmentation_by_name(name=options["segmentation"])
            else:
                segmentation = segmentation_get_or_create_default()
            if options["if_no_active"] and segmentation.active_run_id:
                self.stdout.write(
                    f"“{segmentation.name}” already has active segments (run #{segmentation.active_run_id})."
                )
                return
            run = runs.run_request(
                segmentation=segmentation,
                requested_by=None,
                trigger="command",
                overrides=overrides,
                enqueue=not options["inline"],
            )
        except SegmentaError as exc:
            raise CommandError(str(exc)) from None
        quiet = options["json"]
        if not quiet:
            self.stdout.write(f"Run #{run.pk} of “{segmentation.name}” queued.")
        if options["inline"]:
            # The worker's path (claim, wait while another run of the segmentation is running, give up
            # after SEGMENTA_RUN_WAIT_LIMIT), in this process: the run never stays queued.
            def waiting(countdown: float) -> None:
                if not quiet:
                    current = selectors.run_get(run_id=run.pk)
                    stage = current.stage if current is not None else "waiting"
                    self.stdout.write(
                        f"  {stage}: another run of “{segmentation.name}” is running; trying again in {countdown:g} s"
                    )

            runs.run_execute_waiting(run_id=run.pk, on_wait=waiting)
            run.refresh_from_db()
        else:
            last = {"stage": None}

            def tick(current) -> None:
                if not quiet and current.stage != last["stage"]:
                    last["stage"] = current.stage
                    self.stdout.write(f"  {current.status}: {current.stage} ({current.progress}%)")

            run = selectors.run_wait(run_id=run.pk, timeout=options["timeout"], on_tick=tick)
            if not run.is_finished:
                raise CommandError(
                    f"run #{run.pk} is still {run.status} after {options['timeout']:g} s"
                    + (
                        ": no worker picked it up. Is a worker running (make worker)? The run stays queued."
                        if run.status == RunStatus.QUEUED
                        else "; it goes on in the worker."
                    )
                )
        summary = selectors.run_summary(run=run)
        if quiet:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
        else:
            self._report(summary)
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"run #{run.pk} {run.status}: {run.error}")

    def _report(self, summary: dict) -> None:
        self.stdout.write(f"Run #{summary['run']}: {summary['status']}, k = {summary['k']}")
        self.stdout.write(f"  {summary['reason']}")
        self.stdout.write(f"  rows used {summary['rows_used']}, dropped {summary['rows_dropped']}")
        logged = [f for f, t in summary["transforms"].items() if t["transform"] == "log1p"]
        if logged:
            self.stdout.write(f"  log1p before scaling: {', '.join(logged)}")
        if summary["outliers"]:
            self.stdout.write(
                f"  outliers set apart from the fit, then placed in their nearest segment: {summary['outliers']}"
            )
        for seg in summary["segments"]:
            flags = f" [{', '.join(seg['flags'])}]" if seg["flags"] else ""
            self.stdout.write(f"  {seg['label']}: {seg['name']} — {seg['size']} customers{flags}")
