"""`python manage.py export_segments [--run ID] [--output PATH]`: a run's memberships as CSV."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.csvsafe import write_csv
from segmentation.models import RunStatus, SegmentRun
from segmentation.selectors import runs as selectors
from segmentation.services.config import segmentation_get_or_create_default

HEADER = ("external_id", "segment_label", "segment_name", "distance")


class Command(BaseCommand):
    help = "Write the memberships of a run (default: the active run of the default segmentation) as CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--run", type=int, help="Run id (default: the active run)")
        parser.add_argument("--output", help="File to write (default: standard output)")

    def handle(self, *args, **options) -> None:
        if options["run"] is not None:
            run = SegmentRun.objects.filter(pk=options["run"]).first()
            if run is None:
                raise CommandError(f"--run: no run with id {options['run']}")
            if run.status != RunStatus.SUCCEEDED:
                raise CommandError(f"--run: run #{run.pk} is {run.status}; only a succeeded run has memberships")
        else:
            segmentation = segmentation_get_or_create_default()
            run = segmentation.active_run
            if run is None:
                raise CommandError(
                    f"segmentation “{segmentation.name}” has no active run yet: run `manage.py segment` first"
                )
        rows = selectors.memberships_export_rows(run=run)
        if options["output"]:
            try:
                with open(options["output"], "w", newline="", encoding="utf-8") as fh:
                    count = write_csv(fh, HEADER, rows)
            except OSError as exc:
                raise CommandError(f"--output: cannot write {options['output']!r} ({exc.strerror})") from None
            self.stderr.write(f"Wrote {count} memberships of run #{run.pk} to {options['output']}")
        else:
            write_csv(self.stdout, HEADER, rows)
