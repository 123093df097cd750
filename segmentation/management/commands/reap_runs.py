"""`python manage.py reap_runs [--older-than S] [--prune]`: fail stuck runs; optionally prune old history."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from segmentation.services import housekeeping


class Command(BaseCommand):
    help = "Fail runs stuck in 'running' with no heartbeat for --older-than seconds; --prune drops old runs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, default=settings.SEGMENTA_RUN_STUCK_AFTER, dest="older_than")
        parser.add_argument("--prune", action="store_true", help="Also delete runs beyond SEGMENTA_RUN_RETENTION")

    def handle(self, *args, **options) -> None:
        reaped = housekeeping.run_reap_stuck(older_than=options["older_than"])
        self.stdout.write(f"Failed {reaped} stuck run(s).")
        if options["prune"]:
            pruned = housekeeping.runs_prune_history(keep=settings.SEGMENTA_RUN_RETENTION)
            self.stdout.write(f"Deleted {pruned} old run(s) beyond the newest {settings.SEGMENTA_RUN_RETENTION}.")
