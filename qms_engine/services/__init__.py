"""Citizen-charter public services: applications received, disposed of within the charter's time limit, overdue ones per desk."""
