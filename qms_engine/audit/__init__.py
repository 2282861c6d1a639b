"""What an auditor runs over a whole workspace: verifying every office's chain, its blobs and
checkpoints (:mod:`.verify`) and its tables against the chain (:mod:`.projection`,
:mod:`.capa_projection`, sharing :mod:`.rows`), exporting and reading offline bundles
(:mod:`.bundle`), and signed checkpoints with paper codes (:mod:`.checkpoints`), and reading the
log by user, document and dates (:mod:`.log`).

May import: :mod:`qms_engine.people` and everything below it; independent of
:mod:`qms_engine.documents` (the chain, not the document tables, is the record).
"""
