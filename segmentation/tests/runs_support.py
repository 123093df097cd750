"""Test hooks for segment runs in a test worker (test data comes from the factories).

Imported by a test worker with `celery worker --include segmentation.tests.runs_support`:
  * SEGMENTA_TEST_SEGMENT_DELAY=<seconds> makes every `ml.segment` call wait first (heartbeating
    through its progress callback), so a test can kill the worker mid-run;
  * SEGMENTA_TEST_SEGMENT_FAIL=<message> makes `ml.segment` raise RuntimeError(message).
Without those variables the real engine runs untouched.
"""

from __future__ import annotations

import functools
import os
import time

from segmentation import ml


def install() -> None:
    """Install the delay / failure hooks around the real engine, from the environment."""
    delay = float(os.environ.get("SEGMENTA_TEST_SEGMENT_DELAY") or 0)
    fail = os.environ.get("SEGMENTA_TEST_SEGMENT_FAIL") or ""
    if (delay or fail) and not getattr(ml.segment, "_test_hooked", False):
        real = ml.segment

        @functools.wraps(real)
        def hooked(df, config, *, progress=None):
            end = time.monotonic() + delay
            while time.monotonic() < end:
                if progress:
                    progress("preparing", 0.0)
                time.sleep(0.2)
            if fail:
                raise RuntimeError(fail)
            return real(df, config, progress=progress)

        hooked._test_hooked = True
        ml.segment = hooked


install()
