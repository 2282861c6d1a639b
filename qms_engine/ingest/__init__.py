"""Watched-folder ingestion: every dropped file filed once, or quarantined with a reason."""
