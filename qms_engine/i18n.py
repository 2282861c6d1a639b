"""The words a user reads, in the office's language (English or Hindi).

Messages are marked with :func:`_` where they are shown, or with :func:`N_` where they are
defined (a table heading, a constant) and translated with :func:`_` when shown.  The catalogs
are gettext catalogs under ``qms_engine/locale``, managed with Babel (``pybabel extract`` /
``update`` / ``compile``, configured in ``babel.cfg``); tests/test_i18n.py fails when a marked
message has no Hindi translation or a compiled catalog is out of date.  The language is chosen
once per command (``--lang``, else ``[office] language`` in ``qms.toml``, else English) with
:func:`set_language`.  Names and codes a user typed are never translated.  The ``--help`` of
every command is translated too (qms_engine/cli/help_text.py), in the language of ``--lang`` or
``$QMS_LANG`` only: help never reads a workspace, so an office's ``qms.toml`` does not change it.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

DOMAIN = "qms"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"en": "English", "hi": "हिन्दी"}
"""The languages the tool speaks: code → name."""
DEFAULT_LANGUAGE = "en"

_language: ContextVar[str] = ContextVar("qms_language", default=DEFAULT_LANGUAGE)


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def set_language(language: str) -> None:
    """Speak ``language`` (a code of :data:`LANGUAGES`) from now on in this context."""
    _language.set(_known(language))


@contextmanager
def use_language(language: str) -> Iterator[None]:
    """Speak ``language`` inside the ``with`` block, then the language spoken before."""
    token = _language.set(_known(language))
    try:
        yield
    finally:
        _language.reset(token)


def _known(language: str) -> str:
    if language not in LANGUAGES:
        known = ", ".join(sorted(LANGUAGES))
        raise ValueError(f"unknown language {language!r}; known: {known}")
    return language


def current_language() -> str:
    """The code of the language messages are shown in now."""
    return _language.get()


def _(message: str) -> str:
    """``message`` in the current language (itself when English or untranslated)."""
    return _catalog(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form for ``count``, in the current language."""
    return _catalog(_language.get()).ngettext(singular, plural, count)


def in_every_language(message: str) -> tuple[str, ...]:
    """``message`` as each language says it (English first): for reading back a note that was
    written in whichever language the office spoke then."""
    said = (_catalog(language).gettext(message) for language in LANGUAGES)
    return tuple(dict.fromkeys(said))


def N_(message: str) -> str:  # the gettext name Babel extracts
    """Mark ``message`` for translation where it is defined; :func:`_` translates it when shown."""
    return message
