"""Test support for segment runs: data helpers and the worker hook.

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
from pathlib import Path

import numpy as np

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


# ------------------------------------------------------------------ data helpers
def mall_import(path: Path) -> int:
    """Import the Mall file as-is through the product's import service (Genre, zero-padded ids, CRLF)."""
    from customers.imports.service import customer_import

    result = customer_import(file=path, file_name=path.name, source="command")
    return result.added + result.updated


def customers_blobs(n: int = 300, *, seed: int = 0, prefix: str = "C") -> int:
    """`n` customers in three clear groups of income / spending."""
    from customers.models import Customer

    rng = np.random.default_rng(seed)
    centers = [(20, 20), (60, 80), (100, 30)]
    objs = []
    for i in range(n):
        cx, cy = centers[i % 3]
        objs.append(
            Customer(
                external_id=f"{prefix}{i:05d}",
                gender="female" if i % 2 else "male",
                age=int(20 + i % 50),
                annual_income=float(max(0, cx + rng.normal(0, 3))),
                spending_score=float(min(100, max(1, cy + rng.normal(0, 3)))),
            )
        )
    Customer.objects.bulk_create(objs)
    return n
