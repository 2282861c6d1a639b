"""Tests of the blob store (``document_store``), independent of the engine."""
