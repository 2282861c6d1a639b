"""Storage: the workspace on disk (``qms.toml``), database engines and write transactions, the
tables (SQLModel models), and the Alembic migrations that create them.

May import: :mod:`qms_engine.clock`, :mod:`qms_engine.errors` — nothing that knows what a
document or a signature is.  Blob storage is the separate, engine-independent
:mod:`document_store` package.
"""
