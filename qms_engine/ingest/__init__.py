"""Watched-folder ingestion: every dropped file filed once, or quarantined with a reason.

Claims, processed files and quarantine, one folder per office (:mod:`.inbox`), which offices a
run serves and opening a workspace's inbox (:mod:`.offices`), what a step is handed and how it
refuses or defers a file (:mod:`.steps`), the steps and filing with a receipt
(:mod:`.pipeline`), fields read from ``.docx`` files, sidecars and file names (:mod:`.extract`),
and ``qms watch`` / ``qms ingest`` (:mod:`.watcher`).

May import: :mod:`qms_engine.documents`, :mod:`qms_engine.audit` and everything below them
(people, search, runtime, registry, chain, rules, storage, the basics) and
:mod:`document_store`.  Never the plugin API or :mod:`qms_engine.extension` (which import it
for the step types), nor the CLI: plugins' steps arrive through the ``qms_ingest_steps`` hook
of the loaded plugins it is handed.
"""
