"""The rules, written once: role names, workflow definitions (``workflows/*.toml``) and their
loader.  The write path enforces them and the verifier checks the chain against the same code.

May import: :mod:`qms_engine.errors` only; everything else builds on it.
"""
