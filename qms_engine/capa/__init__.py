"""Nonconformities and corrective actions (ISO 9001:2015 clause 10.2), and internal audits (9.2).

A nonconformity (NC) follows a declarative workflow (``workflows/capa.toml``): raised,
contained, its cause analysed, actions planned (each with a type, an owner and a due date) and
implemented, their effectiveness verified by someone who implemented none of them, closed.
Every step is a signed event of the office's chain, and ``qms audit verify`` holds each one to
the rules from the chain alone.  An action may ask for a revision of a document: it is done
when that revision becomes effective.  Internal audits plan who audits what (never their own
work) and raise NCs from their findings.
"""
