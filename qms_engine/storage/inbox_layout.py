"""The inbox on disk, one folder per office, and the move of a workspace that predates it.

    inbox/<OFFICE>/<FOLDER>/…            where clerks drop files (FOLDER: a register's folder)
    processed/<OFFICE>/<FOLDER>/<date>/  filed originals
    duplicates/<OFFICE>/<FOLDER>/<date>/ copies of records already filed
    quarantine/<OFFICE>/<FOLDER>/        refused files

A workspace made before offices had inboxes of their own kept ``inbox/<FOLDER>/`` (and
``processed/<FOLDER>/`` …) for every office alike.  :func:`upgrade_layout` moves each of those
entries, by rename, into the folder of the workspace's own office, the one ``qms.toml`` names:
it was the office the watcher filed into by default.  The mark file ``inbox/.per-office``,
written last, says the move is done; each rename is atomic, so a move cut short by a crash is
finished by the next command that opens the inbox, and nothing is ever overwritten.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

from qms_engine.files import fsync_dir
from qms_engine.i18n import _
from qms_engine.storage.workspace import Workspace

LAYOUT_MARK = ".per-office"
"""In ``inbox/``: its folders are per office (a hidden name, so the watcher never takes it)."""


def trees(workspace: Workspace) -> tuple[Path, ...]:
    """The folders whose first level is the office: inbox, processed, duplicates, quarantine."""
    return (
        workspace.inbox_dir,
        workspace.processed_dir,
        workspace.duplicates_dir,
        workspace.quarantine_dir,
    )


def is_per_office(workspace: Workspace) -> bool:
    """Whether the workspace's inbox already keeps one folder per office."""
    return (workspace.inbox_dir / LAYOUT_MARK).is_file()


def upgrade_layout(workspace: Workspace) -> list[str]:
    """Move a shared inbox (and its processed/duplicates/quarantine folders) into the folder of
    the workspace's own office; what was moved, as lines for the person at the terminal.

    Does nothing once the workspace is per office.  A new workspace is simply marked.
    """
    if is_per_office(workspace):
        return []
    code = workspace.office_code
    moved: list[str] = []
    for tree in trees(workspace):
        if not tree.is_dir() or tree.is_symlink():
            continue
        entries = [e for e in sorted(tree.iterdir()) if e.name != code and e.name[:1] != "."]
        names = ", ".join(_shown(e) for e in entries[:3])
        for entry in entries:
            try:
                _merge(entry, tree / code / entry.name)
            except FileNotFoundError:  # moved meanwhile by another command doing the same
                continue
        if entries:
            fsync_dir(tree / code)
            fsync_dir(tree)
            more = f" and {len(entries) - 3} more" if len(entries) > 3 else ""
            moved.append(f"moved {tree.name}/ {names}{more} into {tree.name}/{code}/")
    workspace.inbox_dir.mkdir(parents=True, exist_ok=True)
    mark = workspace.inbox_dir / LAYOUT_MARK
    with mark.open("w", encoding="utf-8") as handle:
        handle.write("Each office has its own folder here: inbox/<OFFICE>/<REGISTER>/.\n")
        handle.flush()
        os.fsync(handle.fileno())
    fsync_dir(workspace.inbox_dir)
    if moved:
        moved.insert(0, f"The inbox now keeps one folder per office; {code}'s files were moved:")
        moved.append(
            f"Scanners and shares that dropped into inbox/<REGISTER>/ must now drop into "
            f"inbox/{code}/<REGISTER>/; another office's go into inbox/<its code>/<REGISTER>/."
        )
    return moved


def office_folders(workspace: Workspace, code: str, folders: Iterable[str]) -> list[Path]:
    """Make ``inbox/<code>/<folder>/`` for each register folder; the ones that were missing.

    The inbox must already be per office (:func:`upgrade_layout`): on a shared one, the next
    upgrade would move the new office's folder into the workspace's own office.
    """
    if not is_per_office(workspace):
        raise AssertionError(_("upgrade_layout() first: the inbox is still shared"))
    made = []
    for folder in folders:
        path = workspace.inbox_dir / code / folder
        if not path.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            made.append(path)
    return made


def _merge(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``; where ``target`` exists (a move cut short, then the
    folder made again), move folder contents one by one, and give a file a free name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not os.path.lexists(target):
        os.rename(source, target)
        return
    both_folders = all(p.is_dir() and not p.is_symlink() for p in (source, target))
    if both_folders:
        for child in sorted(source.iterdir()):
            _merge(child, target / child.name)
        with suppress(OSError):  # something arrived meanwhile: a stray the watcher reports
            source.rmdir()
        return
    number = 2
    while os.path.lexists(free := target.with_name(f"{target.stem} ({number}){target.suffix}")):
        number += 1
    os.rename(source, free)


def _shown(entry: Path) -> str:
    """An entry's name as UTF-8 text (undecodable bytes as U+FFFD), a folder's with a slash."""
    name = os.fsencode(entry.name).decode("utf-8", "replace")
    return f"{name}/" if entry.is_dir() else name
