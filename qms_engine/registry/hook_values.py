"""Values handed to plugins: what is being filed, and what was committed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qms_engine.registry.office_types import DocumentTypeSpec


@dataclass(frozen=True)
class Submission:
    """A new revision or register record that is about to be written."""

    office_code: str
    office_type: str
    document_type: DocumentTypeSpec
    path: Path
    original_filename: str
    media_type: str
    size: int
    title: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CommittedEvent:
    """An audit event after its transaction committed."""

    office_code: str
    seq: int
    recorded_at: str
    actor: str
    action: str
    subject: str
    payload: Mapping[str, Any]
    hash: str
