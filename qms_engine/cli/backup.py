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
    console,
    jobs_option,
    json_option,
    pass_app,
    print_json,
    progress_bars,
    signer_option,
)

if TYPE_CHECKING:
    from rich.progress import TaskID

    from qms_engine.backup.folders import Progress
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


@click.command("backup")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@signer_option
@json_option
@pass_app
def backup(app: AppContext, directory: Path, signer: Signer, as_json: bool) -> None:
    """Copy the live workspace into DIR (new or empty): database, blobs, qms.toml, manifest.

    Others keep working meanwhile: the database is copied from one snapshot (SQLite's online
    backup API, or pg_dump of the server's version), then the blobs.  manifest.json records
    the SHA-256 of every file, the offices and their chain heads.  Needs an admin or quality
    coordinator of every office (--as proves who asks: a backup changes and signs nothing).
    DIR is readable by its owner only: it holds the sealed keys and qms.toml.
    """
    from qms_engine.backup.take import take_backup

    with _bar_per_stage() as progress:
        summary = take_backup(app.runtime, actor=signer, destination=directory, progress=progress)
    if as_json:
        print_json(summary)
        return
    console().print(
        f"Backed up to {summary.path}: {summary.backend} database, {summary.named_blobs} "
        f"blobs (+{summary.extra_blobs} stored since the snapshot), {summary.files} files, "
        f"{summary.bytes:,} bytes; snapshot at {summary.created_at}"
    )
    for office in summary.offices:
        console().print(f"  {office.code}: chain head #{office.seq} {office.hash[:16]}…")
    console().print(f"Restore with: qms restore {summary.path} NEW-FOLDER")


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
    database, blobs and qms.toml are restored and every office is verified as by `qms audit
    verify`; if that fails, the restore is undone (exit 6).
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
        f"Restored {source} (snapshot of {summary.created_at}) to {summary.path}: "
        f"{summary.backend} database {summary.database}, {summary.blobs} blobs"
    )
    for result in summary.verification:
        console().print(
            f"  {result.office}: verified — {result.events} events, "
            f"{result.checkpoints} checkpoints, {result.blobs} blobs"
        )
    console().print(f"Use it with: qms -w {summary.path} …")
    if os.environ.get("QMS_DATABASE_URL"):
        console().print(
            "Note: $QMS_DATABASE_URL is set, and overrides the database_url of the restored "
            "qms.toml: unset it to work on the restored database."
        )


COMMANDS = [backup, restore]
