"""The project's exceptions. Views, the API and commands map these to messages.

The one root is the engine's `EngineError` (`segmentation.ml` is the lowest layer and imports
nothing of Django): `SegmentaError` derives from it, and `ConfigError` is also the engine's
`ConfigInvalid`, so a configuration refused by the engine's validator and one refused by a
service are caught the same way and both carry `errors` keyed by field.
"""

from segmentation.ml.errors import ConfigInvalid, EngineError


class SegmentaError(EngineError):
    """Base of every error Segmenta raises on purpose; its message is shown to the user."""


class DataError(SegmentaError):
    """Input data is not acceptable (bad file, bad value). The message names row, column and value."""


class ConfigError(SegmentaError, ConfigInvalid):
    """A configuration value is not acceptable. The message names field, allowed values and value."""


class NotAllowed(SegmentaError):
    """The user may not do this."""


class Conflict(SegmentaError):
    """The request conflicts with the current state (e.g. a run is already in progress)."""
