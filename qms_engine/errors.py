"""Errors the engine raises, each with a message a clerk can act on and an exit code for the CLI.

The CLI never decides what went wrong: it prints ``str(error)`` (and the hint) and exits with
``error.exit_code``, so the same rules and messages hold for any future API.
:func:`known_value` is the one check of a name that must be one of a known few (a document
type, a state), so every filter refuses a typo with the same words.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection

from qms_engine.i18n import _


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


def _plural(noun: str) -> str:
    """``noun`` in the plural, as an English list heading says it: states, severities."""
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "o", "u"):
        return f"{noun[:-1]}ies"
    return f"{noun}es" if noun.endswith(("s", "x", "ch", "sh")) else f"{noun}s"


def known_value(
    what: str, given: str, known: Collection[str], where: str, *, any_case: bool = False
) -> str:
    """``given`` if ``known`` holds it (with ``any_case``, in any letter case, as ``known``
    spells it); else :class:`InvalidInput` naming ``where`` and listing ``known``, with the
    nearest one as "did you mean …?", so that a typo is never taken for an empty result."""
    if given in known:
        return given
    same_letters = [name for name in sorted(known) if name.casefold() == given.casefold()]
    if any_case and same_letters:
        return same_letters[0]
    close = difflib.get_close_matches(given, known, n=1) or same_letters
    raise InvalidInput(
        _("no {what} {given} in {where} ({plural}: {known})").format(
            what=what,
            given=repr(given),
            where=where,
            plural=_plural(what),
            known=", ".join(sorted(known)) or _("none"),
        ),
        hint=_("did you mean {name}?").format(name=repr(close[0])) if close else None,
    )
