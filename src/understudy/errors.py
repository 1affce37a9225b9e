"""The one error type that Understudy raises on purpose, and its kinds.

Every message says what went wrong, names the file, URL, record or field at
fault, and says what to do next. The CLI prints it as one line; the HTTP API
returns it in its single JSON error shape.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "InputError",
    "NotFound",
    "PermissionDenied",
    "StoreError",
    "UnderstudyError",
]


class UnderstudyError(Exception):
    """Base of every error Understudy raises for a user to read."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(UnderstudyError):
    """A setting, the home directory or the config file is unusable."""

    exit_code = 2


class InputError(UnderstudyError):
    """An input file, record or argument is malformed."""

    exit_code = 2


class StoreError(UnderstudyError):
    """The store cannot be opened or used."""

    exit_code = 3


class NotFound(UnderstudyError):
    """A named person, item, project or source does not exist."""

    exit_code = 4


class PermissionDenied(UnderstudyError):
    """The principal may not see or do what it asked for."""

    exit_code = 5
