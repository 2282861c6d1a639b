"""The inbox on disk: where clerks drop files, and where each file goes afterwards.

    inbox/<OFFICE>/<FOLDER>/…              dropped here (subfolders allowed: one per scan)
    .ingest/claimed/<id>/                  taken for processing: the file, sidecar, claim.json
    processed/<OFFICE>/<FOLDER>/<date>/    filed originals, each with a <name>.receipt.json
    duplicates/<OFFICE>/<FOLDER>/<date>/   identical to a record already filed, with a note
    quarantine/<OFFICE>/<FOLDER>/          refused, each with a <name>.error.txt: what to do

Each office has its own folder, named by its code, with one folder per register.  A file
outside every office's folder (straight in ``inbox/``, or in a folder no office is called) is
quarantined under ``quarantine/_no-office/`` with a note naming the offices, never skipped.
:mod:`qms_engine.storage.inbox_layout` moves a workspace made before offices had folders of
their own.

A file is *claimed* by renaming it into its own claim folder, which is atomic: two watchers can
never take the same file, and a file is always in exactly one place.  A claim left behind by a
crash is finished on the next start (see :mod:`qms_engine.ingest.pipeline`).  Nothing here is
ever overwritten: a name that is taken gets `` (2)``, `` (3)`` … added.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple

from qms_engine.clock import as_utc, to_utc_text, utc_now, zone
from qms_engine.errors import NotFound, RuleViolation
from qms_engine.files import fsync_dir, open_regular
from qms_engine.i18n import N_, _, in_every_language
from qms_engine.storage.inbox_layout import LAYOUT_MARK
from qms_engine.storage.workspace import Workspace

CLAIM_FILE = "claim.json"
WRONG_FOLDER = N_("Then move it into the right inbox folder yourself.")
PROBLEM = N_("Problem:")
"""The label of the line of a quarantine note that says what is wrong (read back by
:func:`quarantined_files`, in any language the note was written in)."""
RECEIPT_SUFFIX, DUPLICATE_SUFFIX, ERROR_SUFFIX = ".receipt.json", ".duplicate.txt", ".error.txt"
MAX_NAME_BYTES = 255
UNSORTED = "UNSORTED"
NO_OFFICE = "_no-office"
"""Where files outside every office's folder are counted and quarantined (no office code can
be written with an underscore, so none can be mistaken for it)."""
COUNTS = ("pending", "in_progress", "quarantined", "processed", "duplicates", "ignored")
SIDECAR_SUFFIX = ".json"
_TEMPORARY_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".filepart", ".swp")


def is_ignored(name: str) -> bool:
    """Names that are not (yet) records: hidden files, Office lock files, partial uploads."""
    lowered = name.lower()
    return (
        name.startswith((".", "~$", "~"))
        or lowered.endswith(_TEMPORARY_SUFFIXES)
        or lowered in ("thumbs.db", "desktop.ini")
    )


def is_sidecar(path: Path) -> bool:
    """``scan.pdf.json`` travels with ``scan.pdf``; a lone ``.json`` is not a record."""
    return path.suffix.lower() == SIDECAR_SUFFIX


def fits(name: str) -> bool:
    """Whether ``name`` is short enough for a file name (255 bytes on Linux file systems)."""
    return len(os.fsencode(name)) <= MAX_NAME_BYTES


def sidecar_of(path: Path) -> Path | None:
    """``<name>.json`` beside ``path``, or None where that name would be too long to exist."""
    name = path.name + SIDECAR_SUFFIX
    return path.with_name(name) if fits(name) else None


def _shorten(stem: str, tail: str) -> str:
    """``stem + tail``, the stem cut (never the tail) until the name fits."""
    while stem and not fits(stem + tail):
        stem = stem[:-1]
    return stem + tail


def move(source: Path, target: Path) -> None:
    """Move a file without ever overwriting; across file systems, copy + fsync, then delete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)  # fails if target exists: never overwrites
        os.unlink(source)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            raise
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
            raise
        with open_regular(source) as reader, target.open("xb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
            writer.flush()
            os.fsync(writer.fileno())
        os.unlink(source)
    fsync_dir(target.parent)


def carry(sidecar: Path, target: Path) -> None:
    """Move a sidecar beside its file: a regular one like any file; a link or a folder as it
    is, renamed, never read or followed (reading the fields refuses it, naming it)."""
    if sidecar.is_symlink() or not sidecar.is_file():
        os.rename(sidecar, target)
        fsync_dir(target.parent)
    else:
        move(sidecar, target)


def note_for(target: Path, suffix: str) -> Path:
    """``<name><suffix>`` beside a file; if that is too long a name, the start of the name, a
    tag from a hash of the whole name, and the suffix: two long names that begin alike (``x.pdf``
    and ``x (2).pdf``) never share a note."""
    name = target.name + suffix
    if fits(name):
        return target.with_name(name)
    tag = "~" + hashlib.sha256(os.fsencode(target.name)).hexdigest()[:8]
    return target.with_name(_shorten(target.name, tag + suffix))


def readable_name(text: str) -> str:
    """A name as valid UTF-8 text: bytes that are not UTF-8 (which Python hands over as lone
    surrogates) become U+FFFD, so the name can be written to claim.json, notes and the record."""
    return os.fsencode(text).decode("utf-8", "replace")


def claimed_name(relative: str) -> str:
    """``relative`` (``scan-0003/page1.pdf``) as it is claimed: valid UTF-8 throughout, and its
    file name, which may have grown in the repair, shortened (keeping the extension) to fit."""
    *folders, name = readable_name(relative).split("/")
    return "/".join([*folders, next(_candidates(Path(), name)).name])


def _candidates(folder: Path, name: str) -> Iterator[Path]:
    """``name``, then ``name (2).ext`` …, each shortened (keeping the extension) to fit."""
    stem, suffix = Path(name).stem, Path(name).suffix
    if not fits(suffix):
        stem, suffix = name, ""
    yield folder / _shorten(stem, suffix)
    number = 2
    while True:
        yield folder / _shorten(stem, f" ({number}){suffix}")
        number += 1


def free_name(folder: Path, name: str, note_suffix: str | None = None) -> Path:
    """``folder/name``, or ``name (2).ext`` … if that (or, given a suffix, its note) is taken.

    A note whose file is missing is one this inbox wrote just before a crash (a file that
    merely looks like a note would have a note of its own), so its name counts as free.
    """
    for candidate in _candidates(folder, name):
        if candidate.exists() or candidate.is_symlink():
            continue
        if note_suffix is not None:
            note = note_for(candidate, note_suffix)
            if note.is_symlink() or (note.exists() and note_for(note, note_suffix).exists()):
                continue
        return candidate
    raise AssertionError("unreachable")


def already_moved(folder: Path, name: str, source: Path) -> Path | None:
    """Where a crash between ``move``'s link and unlink left ``source`` already (same file)."""
    for candidate in _candidates(folder, name):
        if not candidate.exists():
            return None
        if os.path.samefile(candidate, source):
            return candidate
    return None


def _read(note: Path) -> str:
    return note.read_text(encoding="utf-8", errors="replace")


class Place(NamedTuple):
    """Where a file lies in the inbox."""

    office: str
    """The office's code, or :data:`NO_OFFICE` for a file outside every office's folder."""
    folder: str
    """The register's folder (``GD``); :data:`UNSORTED` for a file straight in an office's
    folder or in ``inbox/``; for a file outside every office, the folder it was dropped in."""
    relative: str
    """The path below that folder: ``scan-0012/page1.pdf``."""


@dataclass(frozen=True)
class Quarantined:
    """A file the inbox refused, waiting in quarantine/ for a person to fix and put back."""

    office: str
    """The office whose inbox it came from, or :data:`NO_OFFICE`."""
    folder: str
    path: Path
    problem: str
    since: datetime
    """When it was refused (UTC)."""
    retriable: bool
    """False for a file that fits no register (or no office): ``retry`` leaves it for a person."""


@dataclass(frozen=True)
class Claim:
    """A file taken from the inbox for processing, with where it came from."""

    id: str
    office: str  # the office whose inbox it was dropped in (or NO_OFFICE)
    folder: str  # the register's folder below it, e.g. "GD"
    relative: str  # path below that folder, e.g. "scan-0012/page1.pdf"
    root: Path  # the claim folder

    @property
    def path(self) -> Path:
        """The claimed file itself."""
        return self.root / Path(self.relative).name

    @property
    def sidecar(self) -> Path | None:
        """Where its metadata sidecar is, if the clerk dropped one (``<name>.json``); None
        for a name so long that no sidecar can exist."""
        return sidecar_of(self.path)

    @property
    def source(self) -> str:
        """Where it was dropped, below ``inbox/``: ``PS-KOT39/GD/scan-0012/page1.pdf``."""
        office = [] if self.office == NO_OFFICE else [self.office]
        folder = [] if self.folder == UNSORTED else [self.folder]
        return "/".join([*office, *folder, self.relative])


class Inbox:
    """The inbox folders of a workspace, one per office, and the moves between them.

    ``offices``: the codes of the deployment's offices; a top-level folder of ``inbox/`` named
    otherwise holds files that belong to no office (they are quarantined, saying so).
    """

    def __init__(self, workspace: Workspace, offices: Iterable[str]) -> None:
        self.workspace = workspace
        self.root = workspace.inbox_dir
        self.claimed = workspace.claimed_dir
        self.processed = workspace.processed_dir
        self.duplicates = workspace.duplicates_dir
        self.quarantine = workspace.quarantine_dir
        self.offices = tuple(sorted(offices))
        self._mark = self.root / LAYOUT_MARK
        self.default_office = workspace.office_code
        """The office of a claim made before offices had inboxes of their own (its claim.json
        names none): the one the watcher then filed into."""
        self._held: dict[str, int] = {}  # claim id → locked folder handle

    def of(self, office: str) -> OfficeInbox:
        """One office's folders."""
        return OfficeInbox(self, office)

    def place_of(self, path: Path) -> Place | None:
        """Where ``path`` lies in the inbox, or None for a path outside it.

        A file outside every office's folder (straight in ``inbox/``, or in ``inbox/GD/`` when
        no office is called GD) is placed in :data:`NO_OFFICE`: it is claimed and quarantined
        with advice, like a file that fits no register, never skipped.
        """
        try:
            parts = path.relative_to(self.root).parts
        except ValueError:
            return None
        if not parts:
            return None
        top, *rest = parts
        if not rest:
            return Place(NO_OFFICE, UNSORTED, top)
        if top not in self.offices:
            return Place(NO_OFFICE, top, "/".join(rest))
        if len(rest) == 1:
            return Place(top, UNSORTED, rest[0])
        return Place(top, rest[0], "/".join(rest[1:]))

    def office_of(self, path: Path) -> str | None:
        """The office (or :data:`NO_OFFICE`) whose files lie at or below ``path``; None for
        the inbox itself, where every office's files lie, or for a path outside it."""
        if path == self.root:
            return None
        inside = path / "-" if path.is_dir() and not path.is_symlink() else path
        place = self.place_of(inside)
        return place.office if place else None

    def waiting(self) -> Iterator[Path]:
        """Every candidate file in the inbox, oldest folders first; symlinks are not followed."""
        yield from (path for path, ignored in self._walk() if not ignored)

    def _walk(self) -> Iterator[tuple[Path, bool]]:
        """Every file in the inbox, and whether it is ignored (lock, temporary, lone sidecar, or
        a link to a folder: never followed, but counted, so `qms inbox status` shows it)."""
        if not self.root.is_dir():
            return
        for folder, subfolders, files in os.walk(self.root, followlinks=False):
            subfolders[:] = sorted(d for d in subfolders if not is_ignored(d))
            for name in subfolders:
                if (Path(folder) / name).is_symlink():
                    yield Path(folder) / name, True
            for name in sorted(files):
                path = Path(folder) / name
                if path != self._mark:  # the layout's own mark is no one's file
                    yield path, is_ignored(name) or is_sidecar(path)

    def claim(self, path: Path) -> Claim | None:
        """Take ``path`` for processing; None if another process took it first."""
        place = self.place_of(path)
        if place is None:
            return None
        # A name that is not valid UTF-8 is claimed under its repaired name: the file is
        # renamed to it below, so claim.json, the notes and the record can all name it.
        folder, relative = readable_name(place.folder), claimed_name(place.relative)
        claim_id = uuid.uuid4().hex
        root = self.claimed / claim_id
        root.mkdir(parents=True)
        self._hold(claim_id, root, wait=True)
        claim = Claim(claim_id, place.office, folder, relative, root)
        record = {
            "id": claim.id,
            "office": claim.office,
            "folder": folder,
            "relative": relative,
            "claimed_at": to_utc_text(utc_now()),
        }
        try:
            with (root / CLAIM_FILE).open("x", encoding="utf-8") as handle:
                json.dump(record, handle, ensure_ascii=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(path, claim.path)  # atomic: exactly one claimer wins
        except FileNotFoundError:  # the file was taken first (or the claim folder cleared)
            self._let_go(claim_id, root)
            return None
        sidecar = sidecar_of(path)
        if sidecar is not None and claim.sidecar is not None and os.path.lexists(sidecar):
            # Whatever it is (a folder, a link): it travels with the file, by rename (never
            # read or followed), and reading the fields then refuses what is no regular file.
            os.rename(sidecar, claim.sidecar)
        fsync_dir(root)
        return claim

    def claims(self, offices: Container[str] | None = None) -> Iterator[Claim]:
        """Claims this process holds, and claims left by a crash (taken over here); only those
        of ``offices`` if given (another office's are its own watcher's to finish).

        Every claim folder is locked (``flock``) by the process working on it for as long as
        it exists, so a claim that another live process is filing is never touched.
        """
        if not self.claimed.is_dir():
            return
        for root in sorted(self.claimed.iterdir()):
            held = root.name in self._held
            if not held and not self._hold(root.name, root, wait=False):
                continue  # in progress in another process
            try:
                record = json.loads((root / CLAIM_FILE).read_text(encoding="utf-8"))
                office = record.get("office", self.default_office)
                claim = Claim(record["id"], office, record["folder"], record["relative"], root)
            except (OSError, ValueError, KeyError, AttributeError):
                claim = None
            if claim is None or not claim.path.exists():
                self._let_go(root.name, root)  # died before the file was moved in
                continue
            if offices is not None and claim.office not in offices:
                if not held:
                    os.close(self._held.pop(root.name))  # not ours: left as it was
                continue
            yield claim

    def _hold(self, claim_id: str, root: Path, *, wait: bool) -> bool:
        try:
            handle = os.open(root, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(handle)
            return False
        self._held[claim_id] = handle
        return True

    def _let_go(self, claim_id: str, root: Path) -> None:
        """Remove a finished (or empty) claim folder and release its lock."""
        shutil.rmtree(root, ignore_errors=True)
        fsync_dir(root.parent)
        handle = self._held.pop(claim_id, None)
        if handle is not None:
            os.close(handle)

    def _settle(self, claim: Claim, folder: Path, suffix: str, text: str) -> Path:
        """Write the note for the file's final name first, then move the file (and sidecar).

        In that order a crash leaves the file still claimed (finished on the next run, under
        a new free name), never a moved file without its note.  Nothing is overwritten: the
        name is free for the file and for its note.
        """
        name = Path(claim.relative).name
        done = already_moved(folder, name, claim.path) if folder.is_dir() else None
        if done is not None:  # linked there before a crash: only the unlink was missing
            claim.path.unlink()
            target = done
        else:
            target = free_name(folder, name, suffix)
            folder.mkdir(parents=True, exist_ok=True)
            with note_for(target, suffix).open("w", encoding="utf-8") as handle:
                handle.write(text + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            move(claim.path, target)
        if claim.sidecar is not None and os.path.lexists(claim.sidecar):
            carry(claim.sidecar, free_name(folder, target.name + SIDECAR_SUFFIX))
        self._let_go(claim.id, claim.root)
        return target

    def file_away(self, claim: Claim, receipt: dict[str, object], today: date) -> Path:
        """Move a filed original to processed/, with its receipt beside it."""
        text = json.dumps(receipt, ensure_ascii=False, indent=2)
        folder = self.processed / claim.office / claim.folder / today.isoformat()
        return self._settle(claim, folder, RECEIPT_SUFFIX, text)

    def set_aside(self, claim: Claim, note: str, today: date) -> Path:
        """Move a duplicate to duplicates/, with a note naming the record it repeats."""
        folder = self.duplicates / claim.office / claim.folder / today.isoformat()
        return self._settle(claim, folder, DUPLICATE_SUFFIX, note)

    def release(self, claim: Claim) -> Path:
        """Give a claim up unfinished: the file (and its sidecar) go back where they were
        dropped, for a later run to take (a name taken meanwhile gets `` (2)``).

        Only for a claim that was not filed (no receipt).  The sidecar goes back first and the
        file last, the reverse of :meth:`claim`: a crash in between leaves what a crash inside
        :meth:`claim` leaves (the file claimed, finished by the next run; its sidecar in the
        inbox), never a claim folder holding a sidecar alone, which would be cleared.
        """
        folder = (self.root / claim.source).parent
        folder.mkdir(parents=True, exist_ok=True)
        target = free_name(folder, claim.path.name)
        sidecar = claim.sidecar
        if sidecar is not None and os.path.lexists(sidecar):
            os.rename(sidecar, free_name(folder, (sidecar_of(target) or sidecar).name))
        os.rename(claim.path, target)
        fsync_dir(folder)
        self._let_go(claim.id, claim.root)
        return target

    def quarantine_file(
        self,
        claim: Claim,
        step: str,
        problem: str,
        advice: str,
        *,
        timezone: str,
        wrong_folder: bool = False,
    ) -> Path:
        """Move a refused file to quarantine/, with an .error.txt saying what to do.

        The note gives the time in ``timezone`` (the office's) for the clerk, and in UTC.
        ``wrong_folder``: the file fits no register (or no office), so the note does not send
        it back to where it was dropped (and ``qms inbox retry`` leaves it for a person).
        """
        then = (
            _(WRONG_FOLDER)
            if wrong_folder
            else _(
                "Then run `qms inbox retry`, or drop the fixed file into inbox/{office}/{folder}/."
            ).format(office=claim.office, folder=claim.folder)
        )
        now = utc_now()
        local = as_utc(now).astimezone(zone(timezone)).strftime("%Y-%m-%d %H:%M:%S %Z")
        lines = [
            (_("File:"), f"inbox/{claim.source}"),
            (_("Refused at:"), step),
            (_(PROBLEM), problem),
            (_("What to do:"), advice),
            (_("When:"), f"{local} ({timezone})"),
            (_("When (UTC):"), to_utc_text(now)),
        ]
        width = max(len(label) for label, _value in lines) + 2
        text = "".join(f"{label.ljust(width)}{value}\n" for label, value in lines) + then
        folder = self.quarantine / claim.office / claim.folder
        return self._settle(claim, folder, ERROR_SUFFIX, text)

    def retry(self, names: list[str] | None = None, office: str | None = None) -> list[Path]:
        """Put quarantined files back into their inbox folders (all, or those named; of every
        office, or of ``office``).

        Files refused because their folder is no register (or no office) stay in quarantine
        for a person to place: back there, they would only be refused again.  A name that no
        quarantined file has is refused (NotFound, listing the names there are) before any
        file moves.
        """
        held = self.quarantined(office)
        _check_names(names or [], held, office)
        moved: list[Path] = []
        for item in held:
            if (names and item.path.name not in names) or not item.retriable:
                continue
            target = free_name(self.root / item.office / item.path.parent.name, item.path.name)
            move(item.path, target)
            sidecar = sidecar_of(item.path)
            if sidecar is not None and os.path.lexists(sidecar):
                carry(sidecar, free_name(target.parent, target.name + SIDECAR_SUFFIX))
            note_for(item.path, ERROR_SUFFIX).unlink()
            moved.append(target)
        return moved

    def quarantined(self, office: str | None = None) -> list[Quarantined]:
        """Every quarantined file (of ``office``, or of all), with the problem its note names
        and when it was refused."""
        return quarantined_files(self.workspace, office)

    def counts(self, office: str | None = None) -> dict[str, dict[str, dict[str, int]]]:
        """Per office (all, or ``office``), per inbox folder: files pending, in progress,
        quarantined, processed, duplicates and ignored.  Files outside every office's folder
        are counted under :data:`NO_OFFICE`, by the folder they were dropped in."""
        table: dict[str, dict[str, dict[str, int]]] = {}

        def bump(place: str, folder: str, key: str = "") -> None:
            if office is not None and place != office:
                return
            rows = table.setdefault(readable_name(place), {})
            row = rows.setdefault(readable_name(folder), dict.fromkeys(COUNTS, 0))
            if key:
                row[key] += 1

        for code in self.offices:
            if office in (None, code):
                table.setdefault(code, {})
            if (self.root / code).is_dir() and not (self.root / code).is_symlink():
                for folder in sorted(p.name for p in (self.root / code).iterdir() if p.is_dir()):
                    if not is_ignored(folder):
                        bump(code, folder)
        for path, ignored in self._walk():
            # A link to a folder is never followed: it counts where a file inside it would.
            place = self.place_of(path / "-" if ignored and path.is_symlink() else path)
            if place:  # ignored: lock files, partial uploads, sidecars without their file
                bump(place.office, place.folder, "ignored" if ignored else "pending")
        for claim_file in self.claimed.glob(f"*/{CLAIM_FILE}") if self.claimed.is_dir() else ():
            try:
                record = json.loads(claim_file.read_text(encoding="utf-8"))
                where = record.get("office", self.default_office)
                bump(where, record["folder"], "in_progress")
            except (OSError, ValueError, KeyError, AttributeError):
                continue
        for item in self.quarantined(office):
            bump(item.office, item.folder, "quarantined")
        for base, key, suffix in (
            (self.processed, "processed", RECEIPT_SUFFIX),
            (self.duplicates, "duplicates", DUPLICATE_SUFFIX),
        ):
            for note in base.glob(f"*/*/*/*{suffix}") if base.is_dir() else ():
                bump(note.parent.parent.parent.name, note.parent.parent.name, key)
        return table


@dataclass(frozen=True)
class OfficeInbox:
    """One office's folders in the inbox and in the places files go afterwards."""

    inbox: Inbox
    code: str

    @property
    def root(self) -> Path:
        """``inbox/<OFFICE>/``: its register folders are here."""
        return self.inbox.root / self.code

    @property
    def processed(self) -> Path:
        """``processed/<OFFICE>/``."""
        return self.inbox.processed / self.code

    @property
    def duplicates(self) -> Path:
        """``duplicates/<OFFICE>/``."""
        return self.inbox.duplicates / self.code

    @property
    def quarantine(self) -> Path:
        """``quarantine/<OFFICE>/``."""
        return self.inbox.quarantine / self.code

    @property
    def claimed(self) -> Path:
        """Claims in progress (shared by every office: each claim.json names its office)."""
        return self.inbox.claimed

    def counts(self) -> dict[str, dict[str, int]]:
        """Per register folder: files pending, in progress, quarantined, processed …"""
        return self.inbox.counts(self.code).get(self.code, {})

    def retry(self, names: list[str] | None = None) -> list[Path]:
        """Put this office's quarantined files back into its folders (all, or those named)."""
        return self.inbox.retry(names, self.code)

    def quarantined(self) -> list[Quarantined]:
        """This office's quarantined files."""
        return self.inbox.quarantined(self.code)


def quarantined_files(workspace: Workspace, office: str | None = None) -> list[Quarantined]:
    """The files in ``quarantine/<OFFICE>/<FOLDER>/`` (of ``office``, or of every office and
    :data:`NO_OFFICE`), each with the problem its note names and when it was refused."""
    found = []
    quarantine = workspace.quarantine_dir
    offices = [quarantine / office] if office is not None else _folders(quarantine)
    for place in offices:
        for folder in _folders(place):
            for original in sorted(folder.iterdir()):
                note = note_for(original, ERROR_SUFFIX)
                if original == note or not note.exists():
                    continue
                text = _read(note)
                labels = in_every_language(PROBLEM)
                problem = next(
                    (
                        line.removeprefix(label).strip()
                        for line in text.splitlines()
                        for label in labels
                        if line.startswith(label)
                    ),
                    "",
                )
                since = datetime.fromtimestamp(note.stat().st_mtime, UTC)
                found.append(
                    Quarantined(
                        readable_name(place.name),
                        readable_name(folder.name),
                        original,
                        problem,
                        since,
                        not any(said in text for said in in_every_language(WRONG_FOLDER)),
                    )
                )
    return found


MAX_LISTED = 10
"""How many quarantined names an unknown name's error lists."""


def _check_names(names: list[str], held: list[Quarantined], office: str | None) -> None:
    """Refuse a name no file in ``held`` has, listing the names quarantined (or saying none
    is), so that a typo is not taken for "nothing to retry"; and the name of a file that fits
    no register or office, which only a person can place."""
    known = sorted({item.path.name for item in held})
    unknown = ", ".join(repr(name) for name in names if name not in known)
    where = f"in {office}'s quarantine" if office is not None else "in quarantine"
    if unknown and not known:
        raise NotFound(
            _("no file {where} is called {unknown}: no file is {where}").format(
                where=where, unknown=unknown
            )
        )
    if unknown:
        more = f" and {len(known) - MAX_LISTED} more" if len(known) > MAX_LISTED else ""
        raise NotFound(
            _("no file {where} is called {unknown}; quarantined: {items}{more}").format(
                where=where, unknown=unknown, items=", ".join(known[:MAX_LISTED]), more=more
            ),
            hint=_("name one of these, or give no name to retry every quarantined file"),
        )
    retriable = {item.path.name for item in held if item.retriable}
    stuck = ", ".join(repr(name) for name in names if name not in retriable)
    if stuck:
        raise RuleViolation(
            _("{stuck} fits no register or office: put back, it would be refused again").format(
                stuck=stuck
            ),
            hint=_("move it into the right inbox folder yourself (its .error.txt says which)"),
        )


def _folders(parent: Path) -> list[Path]:
    """The folders in ``parent`` (none if it is missing), by name; links are not followed."""
    if not parent.is_dir() or parent.is_symlink():
        return []
    return sorted(p for p in parent.iterdir() if p.is_dir() and not p.is_symlink())
