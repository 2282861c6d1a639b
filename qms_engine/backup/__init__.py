"""Backups of a live workspace and restores that must verify (``qms backup``, ``qms restore``).

A backup is a folder: the database (a SQLite copy made with the online backup API, or a
``pg_dump`` archive), the blobs, ``qms.toml`` and ``manifest.json`` (the SHA-256 of every file,
the engine version, the UTC time of the snapshot, the offices and their chain heads).  It is
taken from one database snapshot while others keep working, and the blobs are copied after it:
blobs are write-once and published before the transaction that names them commits, so every
blob the snapshot names is already there (later ones are harmless extras, listed as such).

- :mod:`.take`: who may take a backup (an admin or quality coordinator of every office: it
  copies every office's records, sealed private keys included, never decrypted) and taking it.
- :mod:`.restore`: every hash checked before anything is written, the workspace rebuilt, and
  the same verification as ``qms audit verify``; a restore that does not verify is undone.
- :mod:`.manifest`: the manifest's format, written and read back strictly.
- :mod:`.postgres`: ``pg_dump`` and ``pg_restore`` of the server's version, and empty databases.
- :mod:`.folders`: folders that appear whole or not at all, and copying with a hash.

May import: :mod:`qms_engine.audit` and everything below it (people, runtime, storage, …);
never documents, ingest or the CLI.
"""
