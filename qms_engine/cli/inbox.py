"""`qms watch`, `qms ingest`, `qms inbox …`: clerks' watched folders."""

from __future__ import annotations

import json
import signal
import sys
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import click

from qms_engine.cli.context import (
    AppContext,
    console,
    error_console,
    jobs_option,
    json_option,
    pass_app,
    print_json,
    print_table,
    signer_option,
)
from qms_engine.errors import RuleViolation

if TYPE_CHECKING:
    from types import FrameType

    from rich.text import Text

    from qms_engine.chain.signing import Signer
    from qms_engine.ingest.pipeline import Outcome
    from qms_engine.ingest.steps import IngestContext
    from qms_engine.ingest.watcher import Runner

STYLES = {"filed": "green", "duplicate": "yellow", "quarantined": "red", "waiting": "magenta"}


class _Tally:
    """Counts outcomes, appends each to the structured log, and prints it as asked."""

    def __init__(self, log_path: Path, as_json: bool, live: bool) -> None:
        from qms_engine.clock import utc_now

        self.counts = dict.fromkeys(STYLES, 0)
        self.log_path, self.as_json, self.live = log_path, as_json, live
        self.started = utc_now()
        log_path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, outcome: Outcome) -> None:
        from rich.text import Text

        from qms_engine.clock import to_utc_text, utc_now

        self.counts[outcome.status] += 1
        line = json.dumps({"time": to_utc_text(utc_now()), **outcome.__dict__}, ensure_ascii=False)
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(line + "\n")
        if self.as_json:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        elif not self.live or outcome.status != "filed":
            detail = outcome.number or outcome.problem or ""
            console().print(
                Text.assemble(
                    (f"{outcome.status:>11} ", STYLES[outcome.status]), f"{outcome.file}  {detail}"
                )
            )

    def line(self, runner: Runner | None = None) -> Text:
        from rich.text import Text

        from qms_engine.clock import utc_now

        seconds = max((utc_now() - self.started).total_seconds(), 1e-9)
        done = self.counts["filed"] + self.counts["duplicate"]
        parts = [f"{key} {value}" for key, value in self.counts.items()]
        if runner is not None:
            parts.insert(0, f"settling {runner.pending()}")
        return Text(" · ".join(parts) + f" · {done / seconds:.1f} files/s")


def _context(app: AppContext, signer: Signer) -> IngestContext:
    from qms_engine.ingest.inbox import Inbox
    from qms_engine.ingest.steps import IngestContext

    return IngestContext(app.runtime, signer, Inbox(app.runtime.workspace))


@click.command("watch")
@click.option(
    "--poll",
    is_flag=True,
    help="Poll the folders instead of inotify: for network shares (SMB/NFS).",
)
@click.option(
    "--settle",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds a file's size must stay unchanged before it is taken.",
)
@click.option(
    "--rescan",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds between full rescans of the inbox (safety net).",
)
@jobs_option("reading .docx files ahead of filing (filing itself stays in order)")
@signer_option
@json_option
@pass_app
def watch_command(
    app: AppContext,
    poll: bool,
    settle: float,
    rescan: float,
    jobs: int,
    signer: Signer,
    as_json: bool,
) -> None:
    """Watch the inbox and file every record dropped into it, until stopped (Ctrl-C).

    Run it as the ingest service user (e.g. --as ingest): every record is signed with its
    key.  Progress goes to the terminal; every outcome is appended to logs/ingest.jsonl.
    """
    from rich.live import Live

    from qms_engine.ingest.pipeline import build_steps
    from qms_engine.ingest.watcher import Runner, document_readers, watch

    context = _context(app, signer)
    live = not as_json and sys.stderr.isatty()
    tally = _Tally(app.runtime.workspace.root / "logs" / "ingest.jsonl", as_json, live)
    stop = threading.Event()
    stopped_by: list[int] = []

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stopped_by.append(signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if not as_json:
        error_console().print(f"Watching {context.inbox.root} (Ctrl-C to stop)…")
    display = Live(tally.line(), console=error_console(), auto_refresh=False) if live else None

    def status(current: Runner) -> None:
        if display is not None:
            display.update(tally.line(current), refresh=True)

    with document_readers(jobs) as readers, display or nullcontext():
        runner = Runner(context, build_steps(app.runtime), tally, settle=settle, readers=readers)
        watch(runner, stop, poll=poll, rescan=rescan, status=status)
    if not as_json:
        error_console().print(tally.line())
    if stopped_by and stopped_by[0] == signal.SIGINT:  # Ctrl-C: the shell's convention, 128 + 2
        error_console().print("Stopped (Ctrl-C).")
        click.get_current_context().exit(130)


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--settle",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds a file's size must stay unchanged before it is taken.",
)
@jobs_option("reading .docx files ahead of filing (filing itself stays in order)")
@signer_option
@json_option
@pass_app
def ingest_command(
    app: AppContext,
    paths: tuple[Path, ...],
    settle: float,
    jobs: int,
    signer: Signer,
    as_json: bool,
) -> None:
    """File the given inbox files or folders once (the same pipeline as `qms watch`).

    Exit code 5 if any file was quarantined or is still waiting.
    """
    from qms_engine.ingest.pipeline import build_steps
    from qms_engine.ingest.watcher import Runner, document_readers, ingest_once

    context = _context(app, signer)
    inbox_root = context.inbox.root.resolve()
    outside = [p for p in paths if not p.resolve().is_relative_to(inbox_root)]
    if outside:  # a usage error (exit 2), like a path that does not exist
        raise click.BadParameter(
            f"{outside[0]} is not inside the inbox ({inbox_root}); "
            "copy the file into inbox/<REGISTER>/ first, e.g. inbox/GD/",
            param_hint="PATHS",
        )
    tally = _Tally(app.runtime.workspace.root / "logs" / "ingest.jsonl", as_json, live=False)
    with document_readers(jobs) as readers:
        runner = Runner(context, build_steps(app.runtime), tally, settle=settle, readers=readers)
        ingest_once(runner, [p.resolve() for p in paths])
    if not as_json:
        console().print(tally.line())
    if tally.counts["quarantined"] or tally.counts["waiting"]:
        raise RuleViolation(
            f"{tally.counts['quarantined']} file(s) quarantined, {tally.counts['waiting']} waiting",
            hint="see quarantine/*.error.txt, fix, then `qms inbox retry`",
        )


@click.group()
def inbox() -> None:
    """The watched folders: status and retrying quarantined files."""


@inbox.command("status")
@json_option
@pass_app
def inbox_status(app: AppContext, as_json: bool) -> None:
    """Files pending, in progress, quarantined, processed and duplicates, per register."""
    from qms_engine.ingest.inbox import Inbox

    counts = Inbox(app.runtime.workspace).counts()
    if as_json:
        print_json(counts)
        return
    print_table(
        "Inbox",
        ["Folder", "Pending", "In progress", "Quarantined", "Processed", "Duplicates", "Ignored"],
        [
            (
                folder,
                row["pending"],
                row["in_progress"],
                row["quarantined"],
                row["processed"],
                row["duplicates"],
                row["ignored"],
            )
            for folder, row in counts.items()
        ],
    )


@inbox.command("retry")
@click.argument("names", nargs=-1)
@pass_app
def inbox_retry(app: AppContext, names: tuple[str, ...]) -> None:
    """Move quarantined files (all, or those NAMES) back into their inbox folders."""
    from qms_engine.ingest.inbox import Inbox

    moved = Inbox(app.runtime.workspace).retry(list(names) or None)
    for path in moved:
        console().print(f"back in the inbox: {path}")
    console().print(f"{len(moved)} file(s) will be processed again by `qms watch` or `qms ingest`.")


COMMANDS = [watch_command, ingest_command, inbox]
