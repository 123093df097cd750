"""`python manage.py reap_runs [--older-than S] [--prune]`: the reaper (runs nobody will finish); optionally prune."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from segmentation.services import housekeeping


class Command(BaseCommand):
    help = (
        "Re-queue (or fail past their attempts) runs 'running' with no heartbeat for --older-than seconds, re-send "
        "(or fail past SEGMENTA_RUN_WAIT_LIMIT) queued runs nobody picked up; --prune drops old runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, default=settings.SEGMENTA_RUN_SILENT_AFTER, dest="older_than")
        parser.add_argument("--prune", action="store_true", help="Also delete runs beyond SEGMENTA_RUN_RETENTION")

    def handle(self, *args, **options) -> None:
        reaped = housekeeping.run_reap_stuck(older_than=options["older_than"])
        self.stdout.write(f"Reaped {reaped} run(s) nobody would finish (re-queued, re-sent, superseded or failed).")
        if options["prune"]:
            pruned = housekeeping.runs_prune_history(keep=settings.SEGMENTA_RUN_RETENTION)
            self.stdout.write(f"Deleted {pruned} old run(s) beyond the newest {settings.SEGMENTA_RUN_RETENTION}.")
