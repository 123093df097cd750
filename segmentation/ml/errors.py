"""The engine's own exceptions (plain Python: the engine never imports Django or `core`).

`EngineError` is the root of the project's exceptions: `core.exceptions.SegmentaError` derives
from it, so the Django side catches engine and application errors alike.

`segment()` catches `EngineInputError` and returns a result with `ok=False` and the message as
`reason`; callers on the Django side never see these unless they call the building blocks directly.
"""

from __future__ import annotations

from collections.abc import Mapping


class EngineError(Exception):
    """Root of every error raised on purpose; its message is meant for the user."""


class EngineInputError(EngineError, ValueError):
    """The data or the configuration cannot be segmented; the message says what and where."""


class ConfigInvalid(EngineError, ValueError):
    """A configuration is not acceptable: `errors` maps each bad field to what is allowed and what was received.

    Built from a message (`ConfigInvalid("k: ...")`), from errors (`ConfigInvalid(errors={"k": "..."})`)
    or both; without a message, the message is every error as "field: message", joined by "; ".
    """

    def __init__(self, message: str = "", *, errors: Mapping[str, str] | None = None) -> None:
        self.errors: dict[str, str] = dict(errors or {})
        super().__init__(message or "; ".join(f"{field}: {text}" for field, text in self.errors.items()))
