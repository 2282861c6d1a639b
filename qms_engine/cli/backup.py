"""`qms backup` and `qms restore`: a consistent copy of a live workspace, and a verified restore."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from qms_engine.cli.context import (
    AppContext,
    as_meaning,
    console,
    jobs_option,
    json_option,
    pass_app,
    print_json,
    progress_bars,
    signer_option,
)
from qms_engine.i18n import _

if TYPE_CHECKING:
    from rich.progress import TaskID

    from qms_engine.backup.folders import Progress
    from qms_engine.backup.manifest import FileNote
    from qms_engine.chain.signing import Signer


@contextmanager
def _bar_per_stage() -> Iterator[Progress]:
    """One bar per stage of the work (database, blobs, …), on standard error in a terminal."""
    with progress_bars() as bars:
        tasks: dict[str, TaskID] = {}

        def show(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield show


def _local(utc_text: str, timezone: str) -> str:
    """A manifest's UTC time as the office reads it."""
    from qms_engine.clock import from_utc_text, local_text

    return local_text(from_utc_text(utc_text), timezone)


def _print_notes(notes: tuple[FileNote, ...]) -> None:
    """The workspace files not copied as they were, each with why."""
    if notes:
        console().print(
            _("{count} workspace file(s) not in the backup as they were:").format(count=len(notes))
        )
    for note in notes:
        console().print(f"  {note.path}: {note.note}")


@click.command("backup")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@as_meaning(
    signer_option,
    "Who asks (default: $QMS_USER): an admin or quality coordinator of every office; their "
    "key proves it, nothing is signed.",
)
@json_option
@pass_app
def backup(app: AppContext, directory: Path, signer: Signer, as_json: bool) -> None:
    """Copy the live workspace into DIR (new or empty), while others keep working.

    A backup holds: the database (one snapshot: SQLite's online backup API, or pg_dump of the
    server's version), every blob, qms.toml, and the files that exist nowhere else: files
    waiting in the inbox or being filed, quarantine/ (with each .error.txt), duplicates/,
    processed/ (originals and receipts) and logs/.  manifest.json records the SHA-256 of every
    file, the offices and their chain heads; a file that vanished or could not be read while
    it was copied is listed there with why.  DIR is readable by its owner only: it holds the
    sealed keys and qms.toml.  DIR must be outside the workspace's inbox, its folders and the
    blob store.
    """
    from qms_engine.backup.take import take_backup

    with _bar_per_stage() as progress:
        summary = take_backup(app.runtime, actor=signer, destination=directory, progress=progress)
    if as_json:
        print_json(summary)
        return
    console().print(
        _(
            "Backed up to {path}: {backend} database, {blobs} blobs (+{extra} stored since the "
            "snapshot), {files} files of the inbox and its folders, {size} bytes; snapshot at "
            "{moment}"
        ).format(
            path=summary.path,
            backend=summary.backend,
            blobs=summary.named_blobs,
            extra=summary.extra_blobs,
            files=summary.workspace_files,
            size=f"{summary.bytes:,}",
            moment=_local(summary.created_at, app.office().timezone),
        )
    )
    for office in summary.offices:
        console().print(
            _("  {code}: chain head #{seq} {hash}…").format(
                code=office.code, seq=office.seq, hash=office.hash[:16]
            )
        )
    _print_notes(summary.notes)
    into = " --database-url URL" if summary.backend == "postgresql" else ""
    console().print(
        _("Restore with: qms restore {path} NEW-FOLDER{into}").format(path=summary.path, into=into)
    )
    if into:
        console().print(_("  (URL: a new, empty PostgreSQL database, e.g. made with createdb)"))


@click.command("restore")
@click.argument(
    "source",
    metavar="DIR",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--database-url",
    metavar="URL",
    help="For a PostgreSQL backup: an empty database to restore into "
    "(postgresql+psycopg://USER@HOST/DB).",
)
@jobs_option("for signature checks")
@json_option
def restore(source: Path, path: Path, database_url: str | None, jobs: int, as_json: bool) -> None:
    """Rebuild the workspace backed up in DIR at PATH (new or empty), and verify it.

    Every file's hash is checked first (a damaged backup: exit 6, nothing written).  Then the
    database, blobs and qms.toml are restored, the inbox is laid out with one folder per
    office of the restored database, the files of the inbox, quarantine/, duplicates/,
    processed/ and logs/ go back where they were, and every office is verified as by `qms
    audit verify`; if that fails, the restore is undone (exit 6).  PATH may not lie inside DIR,
    nor inside a workspace's inbox, its folders or blob store (exit 2).
    """
    from qms_engine.backup.restore import restore_backup
    from qms_engine.extension.manager import load_plugins

    with _bar_per_stage() as progress:
        summary = restore_backup(
            source,
            path,
            plugins=load_plugins(),
            database_url=database_url,
            jobs=jobs,
            progress=progress,
        )
    if as_json:
        print_json(
            {
                **summary.__dict__,
                "verification": [{**r.__dict__, "ok": r.ok} for r in summary.verification],
            }
        )
        return
    console().print(
        _(
            "Restored {source} (snapshot of {moment}) to {path}: {backend} database {database}, "
            "{blobs} blobs, {files} files of the inbox and its folders"
        ).format(
            source=source,
            moment=_local(summary.created_at, summary.timezone),
            path=summary.path,
            backend=summary.backend,
            database=summary.database,
            blobs=summary.blobs,
            files=summary.workspace_files,
        )
    )
    for result in summary.verification:
        console().print(
            _(
                "  {office}: verified — {events} events, {checkpoints} checkpoints, {blobs} blobs"
            ).format(
                office=result.office,
                events=result.events,
                checkpoints=result.checkpoints,
                blobs=result.blobs,
            )
        )
    for line in summary.moved:
        console().print(line)
    _print_notes(summary.notes)
    console().print(_("Use it with: qms -w {path} …").format(path=summary.path))
    if os.environ.get("QMS_DATABASE_URL"):
        console().print(
            _(
                "Note: $QMS_DATABASE_URL is set, and overrides the database_url of the restored "
                "qms.toml: unset it to work on the restored database."
            )
        )


COMMANDS = [backup, restore]
