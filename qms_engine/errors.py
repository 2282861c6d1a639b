"""Errors the engine raises, each with a message a clerk can act on and an exit code for the CLI.

The CLI never decides what went wrong: it prints ``str(error)`` (and the hint) and exits with
``error.exit_code``, so the same rules and messages hold for any future API.
"""

from __future__ import annotations


class QmsError(Exception):
    """Base class: something the user asked for cannot be done; nothing was written."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class ConfigurationError(QmsError):
    """The workspace, its qms.toml, or a plugin/workflow definition is unusable."""

    exit_code = 2


class InvalidInput(QmsError):
    """A value given (a passphrase, a checkpoint code, a NAME=VALUE field, a path …) is malformed.

    A usage error, like a missing option: exit code 2, as click gives its own usage errors.
    """

    exit_code = 2


class NotFound(QmsError):
    """A document, revision, user, office or blob that was named does not exist."""

    exit_code = 3


class PermissionDenied(QmsError):
    """The actor lacks the role, or segregation of duties forbids the action."""

    exit_code = 4


class RuleViolation(QmsError):
    """The request breaks a document-control rule (wrong state, second draft, bad file …)."""

    exit_code = 5


class IntegrityError(QmsError):
    """Stored data failed verification: a hash, a chain link or a blob does not match."""

    exit_code = 6


class PluginError(ConfigurationError):
    """A plugin failed to load or raised; the message names the plugin."""
