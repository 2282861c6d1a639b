"""The signed chain: the record every other table is a projection of.

Owns how an event is encoded (:mod:`.canonical`, :mod:`.encoding`), which kinds of event exist
and what signing each one means (:mod:`.events`), keys and signatures (:mod:`.signing`), the one
audited write path (:mod:`.unit_of_work`), reading a chain back (:mod:`.reader`) and checking it
(:mod:`.verifier`, with the rules of nonconformities, actions, internal audits and feedback in
:mod:`.capa_rules`).

May import: :mod:`qms_engine.rules`, :mod:`qms_engine.storage`, :mod:`qms_engine.clock`,
:mod:`qms_engine.errors`.  The verifier needs nothing but the events and the rules, so an
auditor's offline check and the online one share every line.
"""
