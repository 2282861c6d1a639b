"""The record room: records deposited by record class, kept for the class's retention period,
weeded only through an approved, signed disposal list (:mod:`.room`).

Imports the chain, people and storage layers; never :mod:`qms_engine.services` (a sibling).
"""
