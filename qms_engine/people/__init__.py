"""People and offices: users and their roles, their signing keys, who may act
(:mod:`.permissions`), offices and their document types, and founding a new workspace
(:mod:`.bootstrap`).

May import: :mod:`qms_engine.runtime` and everything below it (registry, chain, rules,
storage).  Never documents, audit, ingest or the CLI.
"""
