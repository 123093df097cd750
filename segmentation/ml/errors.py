"""The engine's own exceptions (plain Python: the engine never imports Django or `core`).

`segment()` catches `EngineInputError` and returns a result with `ok=False` and the message as
`reason`; callers on the Django side never see these unless they call the building blocks directly.
"""

from __future__ import annotations


class EngineInputError(ValueError):
    """The data or the configuration cannot be segmented; the message says what and where."""
