"""Content-addressed, write-once blob storage keyed by SHA-256 (independent of the engine).

Objects live under ``<root>/objects/ab/cd/<sha256>`` and are never rewritten once
committed; uploads are first streamed into ``<root>/tmp`` so that a partial or
rejected upload is never visible under its content hash. This package deliberately
does not import ``qms_engine`` so it can be reused and tested on its own.
"""

from document_store.blob_store import BlobInfo, BlobStore, StagedBlob
from document_store.errors import BlobNotFound, BlobTooLarge, StoreError
from document_store.hashing import copy_hashing, sha256_file

__all__ = [
    "BlobInfo",
    "BlobNotFound",
    "BlobStore",
    "BlobTooLarge",
    "StagedBlob",
    "StoreError",
    "copy_hashing",
    "sha256_file",
]
