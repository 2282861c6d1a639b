"""Audit bundles: an office's chain, keys and checkpoints (optionally blobs) in a folder.

``docs/audit-bundle.md`` specifies the format precisely enough for an independent verifier
using only a JSON parser, SHA-256 and Ed25519.  This module writes bundles and reads them back
as streams, never holding the whole chain in memory.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from document_store.hashing import sha256_file
from qms_engine.audit.checkpoints import CheckpointRecord, stored_checkpoints
from qms_engine.chain import events
from qms_engine.chain.canonical import JsonValue, canonical_bytes
from qms_engine.chain.encoding import ChainEvent, event_body
from qms_engine.chain.reader import load_events
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import to_utc_text, utc_now
from qms_engine.errors import IntegrityError, RuleViolation
from qms_engine.runtime import Runtime
from qms_engine.storage.models import KEY_TABLE, USER_TABLE

FORMAT = "qms-audit-bundle"
_BLOB_ACTIONS = {events.REVISION_CREATED.action, events.RECORD_FILED.action}
VERSION = 1
MANIFEST, EVENTS, KEYS, CHECKPOINTS, BLOBS = (
    "manifest.json",
    "events.jsonl",
    "keys.json",
    "checkpoints.json",
    "blobs",
)


def _write_json(path: Path, value: Any) -> None:
    path.write_text(
        json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    path: Path
    events: int
    keys: int
    checkpoints: int
    blobs: int


def export_bundle(
    runtime: Runtime, office: OfficeRef, destination: Path, *, include_blobs: bool = False
) -> ExportSummary:
    """Write the office's audit bundle to a new folder (refuses to overwrite one)."""
    if destination.exists() and any(destination.iterdir()):
        raise RuleViolation(f"{destination} exists and is not empty", hint="choose a new --out")
    staging = destination.with_name(destination.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    count, head, blobs = 0, "0" * 64, set()
    with runtime.engine.connect() as connection, (staging / EVENTS).open("wb") as out:
        for event in load_events(connection, office.id):
            body = event_body(event, office.code)
            line: dict[str, JsonValue] = {
                "body": body,
                "hash": event.hash,
                "signature": event.signature,
            }
            out.write(canonical_bytes(line) + b"\n")
            count, head = count + 1, event.hash
            sha = body["payload"].get("sha256") if isinstance(body["payload"], dict) else None
            if include_blobs and event.action in _BLOB_ACTIONS and sha:
                blobs.add(str(sha))
        out.flush()
        os.fsync(out.fileno())
        keys = connection.execute(
            select(KEY_TABLE, USER_TABLE.c.username)
            .outerjoin(USER_TABLE, USER_TABLE.c.id == KEY_TABLE.c.user_id)
            .order_by(KEY_TABLE.c.id)
        ).all()
    key_list = [
        {
            "fingerprint": k.fingerprint,
            "public_key": k.public_key,
            "owner": k.username or office.code,
            "purpose": "user" if k.user_id else "office",
            "valid_from": to_utc_text(k.valid_from),
            "valid_until": to_utc_text(k.valid_until) if k.valid_until else None,
            "revoked_reason": k.revoked_reason,
        }
        for k in keys
        if k.user_id is not None or k.office_id == office.id
    ]
    _write_json(staging / KEYS, key_list)
    checkpoints = stored_checkpoints(runtime, office)
    _write_json(staging / CHECKPOINTS, [asdict(c) for c in checkpoints])
    if include_blobs:
        (staging / BLOBS).mkdir()
        for sha in sorted(blobs):
            shutil.copyfile(runtime.store.path(sha), staging / BLOBS / sha)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": to_utc_text(utc_now()),
        "office": {"code": office.code, "name": office.name, "timezone": office.timezone},
        "events": {
            "file": EVENTS,
            "count": count,
            "head": head,
            "sha256": sha256_file(staging / EVENTS),
        },
        "keys": {"file": KEYS, "sha256": sha256_file(staging / KEYS)},
        "checkpoints": {"file": CHECKPOINTS, "sha256": sha256_file(staging / CHECKPOINTS)},
        "blobs": {"folder": BLOBS, "count": len(blobs)} if include_blobs else None,
    }
    _write_json(staging / MANIFEST, manifest)
    if destination.exists():
        destination.rmdir()
    staging.rename(destination)
    return ExportSummary(destination, count, len(key_list), len(checkpoints), len(blobs))


class BundleReader:
    """Reads a bundle folder; every inconsistency is an :class:`IntegrityError` naming the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            raise IntegrityError(f"{path}: no {MANIFEST}: not an audit bundle, or it is incomplete")
        try:
            self.manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise IntegrityError(f"{manifest_path}: not valid JSON ({exc})") from exc
        if self.manifest.get("format") != FORMAT or self.manifest.get("version") != VERSION:
            raise IntegrityError(f"{manifest_path}: not a {FORMAT} version {VERSION} manifest")
        try:
            self.office: str = str(self.manifest["office"]["code"])
            for section in ("events", "keys", "checkpoints"):
                str(self.manifest[section]["file"]) + str(self.manifest[section]["sha256"])
            int(self.manifest["events"]["count"])
        except (KeyError, TypeError, ValueError) as exc:
            raise IntegrityError(f"{manifest_path}: incomplete manifest ({exc!r})") from exc

    def _file(self, section: str) -> Path:
        entry = self.manifest[section]
        path = self.path / str(entry["file"])
        if not path.is_file():
            raise IntegrityError(f"{path}: missing from the bundle")
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            raise IntegrityError(
                f"{path}: SHA-256 is {actual[:16]}…, the manifest says "
                f"{entry['sha256'][:16]}…: the file was altered or truncated"
            )
        return path

    def events(self) -> Iterator[ChainEvent]:
        """The events, streamed line by line."""
        path = self._file("events")
        count = 0
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    line = json.loads(raw)
                    event = ChainEvent(line["body"], line["hash"], line["signature"])
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise IntegrityError(
                        f"{path}: line {number} is not a whole event ({exc}): "
                        "the file is truncated or damaged"
                    ) from exc
                count += 1
                yield event
        expected = self.manifest["events"]["count"]
        if count != expected:
            raise IntegrityError(f"{path}: {count} events, the manifest says {expected}: truncated")

    def keys(self) -> list[dict[str, Any]]:
        """The key list (cross-checked against the chain by the verifier)."""
        path = self._file("keys")
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise IntegrityError(f"{path}: not valid JSON ({exc})") from exc
        if not isinstance(value, list) or not all(isinstance(k, dict) for k in value):
            raise IntegrityError(f"{path}: not a list of keys")
        return value

    def checkpoints(self) -> list[CheckpointRecord]:
        """The checkpoints recorded for the office."""
        path = self._file("checkpoints")
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
            return [CheckpointRecord(**item) for item in value]
        except (json.JSONDecodeError, TypeError) as exc:
            raise IntegrityError(f"{path}: not a list of checkpoints ({exc})") from exc

    def blob(self, sha256: str) -> Path | None:
        """Where a blob is in the bundle, if blobs were exported."""
        if not self.manifest.get("blobs"):
            return None
        return self.path / str(self.manifest["blobs"]["folder"]) / sha256
