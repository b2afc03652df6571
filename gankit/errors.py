"""Exceptions that the CLI turns into one clear error line and a non-zero exit."""


class GankitError(Exception):
    """Base class of every error gankit raises on bad user input."""


class ConfigError(GankitError):
    """A wrong config key, type or value."""


class DataError(GankitError):
    """A missing, truncated or corrupt data file (the message names the file)."""


class CheckpointError(GankitError):
    """A missing or corrupt checkpoint (the message names the file)."""
