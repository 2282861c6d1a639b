"""Citizen-charter public services: applications received, disposed of within the charter's
time limit, overdue ones listed per desk (:mod:`.applications`).

Imports the chain, people and storage layers; never :mod:`qms_engine.record_room` (a sibling).
"""
