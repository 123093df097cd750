"""Carrying a segment's identity across runs (name, colour, edited strategy).

Called by the activation service inside its transaction, before the new run becomes active.
"""

from __future__ import annotations

from typing import Any


def segments_inherit(*, run: Any, previous: Any | None) -> None:
    """Match `run`'s segments to `previous` run's and carry lineage, name, colour and strategy."""
    return None
