"""The Hindi catalog as the source defines it: extract, update, merge, compile (Babel's API).

The same functions serve tests/test_i18n.py (which fails on anything missing or stale) and the
maintainer, from the checkout::

    .venv/bin/python -m tests.catalog                     # extract, update qms.po, compile qms.mo
    .venv/bin/python -m tests.catalog --merge A.po B.po   # also take the translations of A, B

``babel.cfg`` names the files and the keywords (``_``, ``N_``, ``ngettext``); the ``--help``
texts, which Babel cannot find in docstrings, are read from the real ``qms`` command tree (every
core and plugin command, nested ones too: ``qms_engine/cli/help_text.py``).  Updating keeps every
translation whose msgid is still in the source, adds the new msgids untranslated (the test then
lists them) and drops the ones the source no longer has; it never guesses (no fuzzy matching).
A merged file's translations of msgids the source still has go into the catalog (over an older
translation there: the files named last win); its other msgids are left out.
"""

from __future__ import annotations

import argparse
import io
import string
from collections.abc import Iterable, Sequence
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from qms_engine.cli import cli
from qms_engine.cli.help_text import help_messages

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "babel.cfg"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
LANGUAGE = "hi"
PO_PATH = ROOT / "qms_engine" / "locale" / LANGUAGE / "LC_MESSAGES" / "qms.po"
MO_PATH = PO_PATH.with_suffix(".mo")
HEADER = "Hindi messages of qms-engine (tests/catalog.py keeps this file up to date)."


def extract() -> Catalog:
    """Every message marked in the files ``babel.cfg`` names, with where it is used."""
    with MAPPING.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, str(MAPPING))  # type: ignore[no-untyped-call]
    template = Catalog(project="qms-engine", charset="utf-8", fuzzy=False)
    found = extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    )
    for filename, lineno, message, comments, context in found:
        template.add(
            message, locations=[(filename, lineno)], auto_comments=comments, context=context
        )
    for message, filename, lineno in help_messages(cli):
        template.add(message, locations=[(_relative(filename), lineno)])
    return template


def _relative(filename: str) -> str:
    """``filename`` relative to the checkout, as Babel names locations (a plugin installed
    elsewhere: as it is)."""
    path = Path(filename)
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else filename


def read_catalog(path: Path = PO_PATH) -> Catalog:
    """The PO file at ``path`` (an empty Hindi catalog when there is none yet)."""
    if not path.exists():
        return Catalog(
            locale=LANGUAGE,
            project="qms-engine",
            header_comment=f"# {HEADER}",
            last_translator="qms-engine maintainers",
            language_team="Hindi",
            fuzzy=False,
        )
    with path.open("rb") as handle:
        return read_po(handle, locale=LANGUAGE)


def updated(catalog: Catalog, template: Catalog) -> Catalog:
    """``catalog`` with exactly the msgids of ``template``: translations kept, none guessed."""
    created = catalog.creation_date  # the header stays as it was: updates make small diffs
    catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
    catalog.creation_date = created
    catalog.obsolete.clear()
    return catalog


def merged(catalog: Catalog, others: Iterable[Catalog]) -> int:
    """Put the translations of ``others`` into ``catalog`` where it has their msgids; how
    many translations changed."""
    filled = 0
    for other in others:
        for message in other:
            if not message.id or not _translated(message) or message.fuzzy:
                continue
            mine = catalog.get(message.id, message.context)
            if mine is not None and (mine.string != message.string or mine.fuzzy):
                mine.string = message.string
                mine.flags.discard("fuzzy")
                filled += 1
    return filled


def compiled(catalog: Catalog) -> bytes:
    """The ``.mo`` file of ``catalog`` (fuzzy translations left out)."""
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def po_text(catalog: Catalog) -> bytes:
    """The PO file of ``catalog``, sorted by msgid so updates make small diffs."""
    out = io.BytesIO()
    write_po(out, catalog, width=100, sort_output=True, include_previous=False)
    return out.getvalue()


def untranslated(catalog: Catalog) -> list[Message]:
    """The messages of ``catalog`` without a (non-fuzzy) translation."""
    return [m for m in catalog if m.id and (not _translated(m) or m.fuzzy)]


def placeholder_mismatches(catalog: Catalog) -> list[str]:
    """One line per translation whose ``{placeholders}`` differ from its msgid's."""
    problems = []
    for message in catalog:
        if not message.id or not _translated(message):
            continue
        wanted = set().union(*(_fields(text) for text in _texts(message.id)))
        for text in _texts(message.string):
            try:
                got = _fields(text)
            except ValueError as exc:
                problems.append(f"{message.id!r}: translation is no format string ({exc})")
                continue
            if got != wanted:
                problems.append(
                    f"{message.id!r}: placeholders {sorted(wanted)} but the Hindi has {sorted(got)}"
                )
    return problems


def _fields(text: str) -> set[str]:
    """The names in ``text``'s ``{…}`` fields (``str.format`` syntax)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _texts(value: object) -> tuple[str, ...]:
    """A msgid or msgstr as its texts: one, or the singular and plural forms."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    assert isinstance(value, list | tuple), value
    return tuple(str(text) for text in value)


def _translated(message: Message) -> bool:
    strings = _texts(message.string)
    return bool(strings) and all(strings)


def main(argv: Sequence[str] | None = None) -> None:
    """Extract, update ``qms.po`` (merging the given PO files), compile ``qms.mo``."""
    parser = argparse.ArgumentParser(prog="python -m tests.catalog", description=main.__doc__)
    parser.add_argument("--merge", nargs="*", type=Path, default=[], metavar="PO")
    args = parser.parse_args(argv)
    catalog = updated(read_catalog(), extract())
    filled = merged(catalog, (read_catalog(path) for path in args.merge))
    PO_PATH.parent.mkdir(parents=True, exist_ok=True)
    PO_PATH.write_bytes(po_text(catalog))
    catalog = read_catalog()  # compile what was written, exactly as the test does
    MO_PATH.write_bytes(compiled(catalog))
    missing = untranslated(catalog)
    print(f"{PO_PATH}: {len(catalog)} messages, {filled} merged, {len(missing)} untranslated")
    for problem in placeholder_mismatches(catalog):
        print(f"  placeholder mismatch: {problem}")


if __name__ == "__main__":
    main()
