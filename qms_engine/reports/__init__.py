"""Reports over an office: what an ISO 9001 audit would find missing (readiness).

- :mod:`.readiness`: ``qms check readiness``, one office's findings in the order of the clauses
  (required SOPs, periodic reviews, register gaps, major nonconformities).
- :mod:`.stored_files`: revisions whose stored file is gone or changed; inbox drafts not adopted.
- :mod:`.commitments`: charter services past their time limit; items out past their return.
- :mod:`.adopted`: district SOPs a station adopted, current or behind the district's revision.
- :mod:`.staff`: who may run a finding's command (``--as``), so that it runs as printed.
- :mod:`.findings`: a finding (kind, ISO 9001 clause, subject, what is missing, command).

Reads only.  May import every layer below it (documents, capa, registers, custody, services,
audit, backup …); only the CLI imports it.
"""
