"""`qms watch`, `qms ingest`, `qms inbox …`: clerks' watched folders."""

from __future__ import annotations

import json
import signal
import sys
import threading
from contextlib import ExitStack
from functools import partial
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
from qms_engine.errors import PermissionDenied, RuleViolation
from qms_engine.i18n import N_, _, ngettext

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from types import FrameType

    from rich.text import Text

    from qms_engine.chain.signing import Signer
    from qms_engine.ingest.pipeline import Outcome
    from qms_engine.ingest.steps import IngestContext
    from qms_engine.ingest.watcher import Runner

STYLES = {
    "filed": "green",
    "duplicate": "yellow",
    "quarantined": "red",
    "waiting": "magenta",
    "left": "magenta",
}
TAILS = {  # what follows the file's name on its line
    "filed": " → {number}",
    "duplicate": N_("  duplicate of {number}, set aside"),
    "quarantined": N_("  quarantined at “{step}”: {problem}"),
    "waiting": N_("  waiting, will retry: {problem}"),
    "left": N_("  left for a run that may file it: {problem}"),
}
WORDS = {  # the outcomes as the status line counts them
    "filed": N_("filed"),
    "duplicate": N_("duplicate"),
    "quarantined": N_("quarantined"),
    "waiting": N_("waiting"),
    "left": N_("left"),
}


class _Tally:
    """Counts outcomes, appends each to the structured log, and prints it as it happens: the
    time in the office's zone, the file, and the number it got (or why it was not filed)."""

    def __init__(self, log_path: Path, as_json: bool, context: IngestContext) -> None:
        from qms_engine.ingest.watcher import RecentRate

        self.counts = dict.fromkeys(STYLES, 0)
        self.log_path, self.as_json = log_path, as_json
        self.recent = RecentRate()
        self.default_zone = context.home_zone  # for files of no office
        self.zones = {code: office.timezone for code, office in context.offices.items()}
        self.many = len(context.offices) > 1  # name the office beside each file
        self.show: Callable[[Text], None] = partial(console().print, soft_wrap=True)
        log_path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, outcome: Outcome) -> None:
        from qms_engine.clock import to_utc_text, utc_now

        now = utc_now()
        self.counts[outcome.status] += 1
        if outcome.status in ("filed", "duplicate"):
            self.recent.add()
        line = json.dumps({"time": to_utc_text(now), **outcome.__dict__}, ensure_ascii=False)
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(line + "\n")
        if self.as_json:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        else:
            self.show(self.text(outcome, now))

    def text(self, outcome: Outcome, now: datetime) -> Text:
        """``12:03:04  GD/gd-0412.docx → PS-KOT39/GD/2026/0412`` (or what became of it)."""
        from rich.text import Text

        from qms_engine.clock import as_utc, zone
        from qms_engine.ingest.inbox import NO_OFFICE

        local = as_utc(now).astimezone(zone(self.zones.get(outcome.office, self.default_zone)))
        if outcome.office == NO_OFFICE:
            name = _("(no office) {file}").format(file=outcome.file)
        elif self.many:
            name = f"{outcome.office}/{outcome.file}"
        else:
            name = outcome.file
        tail = _(TAILS[outcome.status]).format_map(outcome.__dict__)
        return Text.assemble(local.strftime("%H:%M:%S  "), name, (tail, STYLES[outcome.status]))

    def line(self, runner: Runner | None = None) -> Text:
        """``filed 12 · quarantined 1`` (counts that are not zero, after the files filed); with
        the ``runner`` of a watcher, its live status line: the files of the last minute and
        those settling too, on one line however narrow the terminal (cut with …)."""
        from rich.text import Text

        parts = [f"{_(WORDS['filed'])} {self.counts['filed']}"]
        if runner is not None:
            parts.append(_("{count} in the last minute").format(count=self.recent.count()))
        parts += [
            f"{_(WORDS[key])} {count}"
            for key, count in self.counts.items()
            if key != "filed" and count
        ]
        if runner is not None and runner.pending():
            parts.append(_("settling {count}").format(count=runner.pending()))
        if runner is None:
            return Text(" · ".join(parts))
        return Text(" · ".join(parts), no_wrap=True, overflow="ellipsis")


def _watching(context: IngestContext) -> str:
    """``Watching inbox/PS-KOT39/ and inbox/PS-KOT40/ …``, and, when the run takes them, what
    becomes of files outside every office's folder."""
    from qms_engine.ingest.inbox import NO_OFFICE

    folders = [f"inbox/{code}/" for code in sorted(context.offices)]
    served = ", ".join(folders[:-1]) + (_(" and ") if len(folders) > 1 else "") + folders[-1]
    said = _("Watching {folders} (Ctrl-C to stop)…").format(folders=served)
    if NO_OFFICE in context.covers:
        said += "\n" + _(
            "A file outside every office's folder (straight in inbox/, say) goes to "
            "quarantine/{folder}/ with a note."
        ).format(folder=NO_OFFICE)
    return said


def _stopped(context: IngestContext, start_again: str) -> PermissionDenied:
    """The error of a run that stopped filing in offices where its key ended: why, that their
    files wait in the inbox, and how to start again (``start_again``: the command's words)."""
    ended = context.ended.values()
    wait = ngettext(
        "its files wait in the inbox, neither filed nor quarantined",
        "their files wait in the inbox, neither filed nor quarantined",
        len(context.ended),
    )
    return PermissionDenied(
        _("stopped filing in {offices}: {problems}; {wait}").format(
            offices=", ".join(context.ended),
            problems="; ".join(why.problem for why in ended),
            wait=wait,
        ),
        hint="; ".join(dict.fromkeys(f"{start_again} {why.restart}" for why in ended)),
    )


def _context(app: AppContext, signer: Signer) -> IngestContext:
    """The run's inbox (moved to one folder per office first, if it was shared, saying so)
    and the offices it serves: all (the default) or ``--office``; says which it leaves."""
    from qms_engine.ingest.offices import open_inbox
    from qms_engine.ingest.steps import IngestContext

    inbox = open_inbox(app.runtime, say=error_console().print)
    context = IngestContext(app.runtime, signer, inbox, only=app.office_code)
    for code, reason in context.not_served.items():
        error_console().print(
            _("not serving {code}'s inbox: {reason}").format(code=code, reason=reason)
        )
    return context


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

    Each office has its own folder, inbox/<OFFICE>/<REGISTER>/, and each file is filed in its
    office's audit trail.  The watcher serves every office where the user it runs as holds a
    role (or only the one named with --office: each office may have a watcher of its own).
    Run it as the inbox service user (e.g. --as ingest): every record is signed with its key.
    Each file is printed with the number it got, at the office's local time; every outcome is
    also appended to logs/ingest.jsonl.  Should its key be replaced or revoked meanwhile
    (`qms key rotate ingest`), files wait untouched in the inbox and the watcher stops serving
    that office; serving none, it ends with exit code 4: restart it with the new key.
    """
    from rich.live import Live
    from rich.text import Text

    from qms_engine.ingest.pipeline import build_steps
    from qms_engine.ingest.watcher import Runner, document_readers, watch

    context = _context(app, signer)
    live = not as_json and sys.stderr.isatty() and sys.stdout.isatty()
    tally = _Tally(app.runtime.workspace.logs_dir / "ingest.jsonl", as_json, context)
    stop = threading.Event()
    stopped_by: list[int] = []

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stopped_by.append(signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    display = Live(tally.line(), console=error_console(), auto_refresh=False) if live else None
    if display is not None:  # printed above the status line, which stays at the bottom
        tally.show = partial(display.console.print, soft_wrap=True)

    shown: list[Text] = []
    told = set(context.not_served)
    screen = ExitStack()

    def started() -> None:  # the offices' locks are held: no other watcher serves them
        if not as_json:
            error_console().print(Text(_watching(context)))
        if display is not None:
            screen.enter_context(display)

    def status(current: Runner) -> None:
        told_how = tally.show if display is not None else error_console().print
        for code in context.not_served.keys() - told:  # an office added while it runs
            told.add(code)
            told_how(
                Text(
                    _("not serving {code}'s inbox: {reason}").format(
                        code=code, reason=context.not_served[code]
                    )
                )
            )
        for code in context.ended.keys() - told if context.offices else ():  # others go on
            told.add(code)  # (with none left, the watcher stops with an error saying why)
            why = context.ended[code].told(_("restart `qms watch`"))
            told_how(
                Text(
                    _("not serving {code}'s inbox any more: {reason}").format(code=code, reason=why)
                )
            )
        line = tally.line(current)
        if display is not None and shown[-1:] != [line]:  # redrawn only when it changed
            shown[:] = [line]
            display.update(line, refresh=True)

    with document_readers(jobs) as readers, screen:
        runner = Runner(context, build_steps(app.runtime), tally, settle=settle, readers=readers)
        watch(runner, stop, poll=poll, rescan=rescan, status=status, started=started)
    if not as_json:
        error_console().print(tally.line())
    if not context.offices:  # every office's key ended: nothing left to serve
        raise _stopped(context, _("restart `qms watch`"))
    if stopped_by and stopped_by[0] == signal.SIGINT:  # Ctrl-C: the shell's convention, 128 + 2
        error_console().print(_("Stopped (Ctrl-C)."))
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

    PATHS lie in the inbox: a file, a register folder (inbox/PS-KOT39/GD), an office's
    folder, or the whole inbox; with --office, that office's files only.  Exit code 5 if any
    file was quarantined or is still waiting; 4 if the key ended meanwhile (replaced or
    revoked: the files it could not file wait in the inbox).
    """
    from qms_engine.ingest.pipeline import build_steps
    from qms_engine.ingest.watcher import Runner, document_readers, ingest_once

    context = _context(app, signer)
    for path in paths:  # a path it cannot take is a usage error (exit 2), like a missing one
        problem = _not_taken(context, path.resolve())
        if problem:
            raise click.BadParameter(f"{path} {problem}", param_hint="PATHS")
    tally = _Tally(app.runtime.workspace.logs_dir / "ingest.jsonl", as_json, context)
    with document_readers(jobs) as readers:
        runner = Runner(context, build_steps(app.runtime), tally, settle=settle, readers=readers)
        ingest_once(runner, [p.resolve() for p in paths])
    if not as_json:
        console().print(tally.line())
    if context.ended:  # its key ended meanwhile: those offices' files wait in the inbox
        raise _stopped(context, _("run `qms ingest` again"))
    if tally.counts["quarantined"] or tally.counts["waiting"]:
        raise RuleViolation(
            _("{quarantined} file(s) quarantined, {waiting} waiting").format(
                quarantined=tally.counts["quarantined"], waiting=tally.counts["waiting"]
            ),
            hint=_("see quarantine/<OFFICE>/<REGISTER>/*.error.txt, fix, then `qms inbox retry`"),
        )


def _not_taken(context: IngestContext, path: Path) -> str | None:
    """Why ``qms ingest`` cannot take what is at ``path`` (None: it can)."""
    from qms_engine.ingest.inbox import NO_OFFICE

    inbox = context.inbox
    if not path.is_relative_to(inbox.root):
        example = f"inbox/{inbox.default_office}/GD/"
        return _(
            "is not inside the inbox ({root}); copy the file into "
            "inbox/<OFFICE>/<REGISTER>/ first, e.g. {example}"
        ).format(root=inbox.root, example=example)
    office = inbox.office_of(path)
    if office is None or office in context.covers:
        return None
    if office == NO_OFFICE:
        return _("lies outside every office's folder: run without --office to quarantine it")
    why = context.not_served.get(office)
    if why is None:
        return _("is in {office}'s inbox: use --office {office} (or no --office)").format(
            office=office
        )
    return _("is in {office}'s inbox, which {username} does not serve: {reason}").format(
        office=office, username=context.signer.username, reason=why
    )


@click.group()
def inbox() -> None:
    """The watched folders: status and retrying quarantined files."""


@inbox.command("status")
@json_option
@pass_app
def inbox_status(app: AppContext, as_json: bool) -> None:
    """Files pending, being filed, quarantined, filed, duplicates and ignored, per office and
    register: every office's (and files outside every office's folder), or --office's.

    Files outside any register folder (straight in inbox/OFFICE/ or inbox/) are shown as
    "(loose files)"; --json keeps its keys: "UNSORTED" for them, "_no-office" for no office.
    """
    from qms_engine.ingest.inbox import NO_OFFICE, UNSORTED
    from qms_engine.ingest.offices import open_inbox

    only = app.office().code if app.office_code else None
    counts = open_inbox(app.runtime, say=error_console().print).counts(only)
    if as_json:
        print_json(counts)
        return
    print_table(
        _("Inbox"),
        [
            _("Office"),
            _("Folder"),
            _("Pending"),
            _("Being filed"),  # two short lines: the table fits 80 columns
            _("Quarantined"),
            _("Filed"),
            _("Duplicates"),
            _("Ignored"),
        ],
        [
            (
                _("(no office)") if office == NO_OFFICE else office,
                _("(loose files)") if folder == UNSORTED else folder,
                row["pending"],
                row["in_progress"],
                row["quarantined"],
                row["processed"],
                row["duplicates"],
                row["ignored"],
            )
            for office, rows in counts.items()
            for folder, row in rows.items()
        ],
    )


@inbox.command("retry")
@click.argument("names", nargs=-1)
@pass_app
def inbox_retry(app: AppContext, names: tuple[str, ...]) -> None:
    """Move quarantined files (all, or those NAMES; of every office, or --office's) back into
    their inbox folders.  Files refused for the folder they were in stay for a person to move.

    A NAME no quarantined file has is an error (exit 3) listing the names there are; nothing
    is moved then.
    """
    from qms_engine.ingest.offices import open_inbox

    only = app.office().code if app.office_code else None
    folders = open_inbox(app.runtime, say=error_console().print)
    moved = folders.retry(list(names) or None, only)
    for path in moved:
        console().print(_("back in the inbox: {path}").format(path=path))
    if moved:
        console().print(
            _("{count} file(s) will be processed again by `qms watch` or `qms ingest`.").format(
                count=len(moved)
            )
        )
    stay = folders.quarantined(only) if not names else []  # a named one was refused above
    if stay:
        console().print(
            _(
                "{count} file(s) stay in quarantine: they fit no register or office; move each "
                "into the right inbox folder yourself (its .error.txt says which)."
            ).format(count=len(stay))
        )
    if not moved and not stay:
        console().print(_("No file is in quarantine."))


COMMANDS = [watch_command, ingest_command, inbox]
