"""Exceptions raised by the blob store.

Kept in their own module so callers can catch store failures without importing
the implementation, and so every failure shares one base class (``StoreError``).
"""

from __future__ import annotations

__all__ = ["BlobNotFound", "BlobTooLarge", "StoreError"]


class StoreError(Exception):
    """Base class for every failure the blob store reports on purpose."""


class BlobNotFound(StoreError):
    """No object with the requested hash exists in the store."""


class BlobTooLarge(StoreError):
    """A stream delivered more bytes than the caller's ``max_bytes`` limit."""
