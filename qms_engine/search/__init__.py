"""Full-text search over documents and register records (SQLite FTS5, PostgreSQL tsvector).

The words of a text, the same for both databases, and the text of a .docx (:mod:`.text`); what a
user typed as search terms (:mod:`.terms`); writing the index and rebuilding it
(:mod:`.index`); searching an office (:mod:`.query`) and showing the match (:mod:`.snippets`).

The index is written in the same transaction as the record it describes
(:func:`.index.index_revision`, called by :mod:`qms_engine.documents`); it is derived data,
never part of the signed chain, and :func:`.index.reindex` rebuilds it.

May import: :mod:`qms_engine.runtime` and everything below it (the index itself needs only
storage, files and the basics; a search reads the office's types and workflows from the
loaded plugins) and :mod:`document_store`.  Sits beside :mod:`qms_engine.people`, below
:mod:`qms_engine.documents`, which calls it.
"""
