"""Register entries with the rules of their books: the General Diary's day, gapless numbering
per day or year, corrections that link both ways, required fields.

- :mod:`.entries`: writing a typed entry (``qms register write``: its text becomes a UTF-8
  ``.txt`` file, filed through the document write path, which applies the rules of
  :mod:`qms_engine.documents.register_entries`), and reading entries with their links.
- :mod:`.gaps`: what a register's tables show missing (serials skipped, past days not closed),
  for ``qms register gaps`` and the readiness report.

May import :mod:`qms_engine.documents`, :mod:`qms_engine.audit` and everything below them.
"""

from qms_engine.registers.gaps import RegisterGap, gaps

__all__ = ["RegisterGap", "gaps"]
