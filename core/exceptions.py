"""The project's one exception root. Views, the API and commands map these to messages."""


class SegmentaError(Exception):
    """Base of every error Segmenta raises on purpose; its message is shown to the user."""


class DataError(SegmentaError):
    """Input data is not acceptable (bad file, bad value). The message names row, column and value."""


class ConfigError(SegmentaError):
    """A configuration value is not acceptable. The message names field, allowed values and value."""


class NotAllowed(SegmentaError):
    """The user may not do this."""


class Conflict(SegmentaError):
    """The request conflicts with the current state (e.g. a run is already in progress)."""
