"""Document control (ISO 9001 clause 7.5): documents, their revisions and register records
(:mod:`.revisions`), workflow transitions (:mod:`.transitions`), the master list, periodic
reviews and signed histories (:mod:`.master_list`), and handing a stored file out exactly,
its SHA-256 checked on the way (:mod:`.handout`, also for NCs' evidence).

May import: :mod:`qms_engine.people`, :mod:`qms_engine.search` (the full-text index, written
in the record's transaction) and everything below them.  Nonconformities and corrective
actions (``qms_engine.capa``), citizen feedback (``qms_engine.feedback``) and reports
(``qms_engine.reports``) will sit in a layer of their own above this one and
:mod:`qms_engine.audit`, since they read both.
"""
