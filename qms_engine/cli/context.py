"""What every command shares: the workspace it runs in, the acting user, and output helpers."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from qms_engine.audit import OfficeRef
from qms_engine.clock import local_text
from qms_engine.runtime import Runtime
from qms_engine.workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])

console = Console(highlight=False)
error_console = Console(stderr=True, highlight=False)


@dataclass
class AppContext:
    """Carried through click's context: opens the workspace only when a command needs it."""

    workspace_path: Path | None = None
    office_code: str | None = None
    _runtime: Runtime | None = field(default=None, repr=False)

    @property
    def runtime(self) -> Runtime:
        """The open workspace (opened on first use, closed when the command ends)."""
        if self._runtime is None:
            self._runtime = Runtime.open(Workspace.find(self.workspace_path))
            click.get_current_context().call_on_close(self._runtime.close)
        return self._runtime

    def office(self) -> OfficeRef:
        """The office chosen with --office, or the workspace's own."""
        return self.runtime.office(self.office_code)


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def actor_option(function: F) -> F:
    """``--as USER`` (or ``QMS_USER``): who is acting; recorded in the audit trail."""
    return click.option(
        "--as",
        "actor",
        envvar="QMS_USER",
        required=True,
        metavar="USER",
        help="The user taking this action (default: $QMS_USER).",
    )(function)


def json_option(function: F) -> F:
    """``--json``: machine-readable output on stdout."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(function)


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {key: _plain(item) for key, item in asdict(value).items()}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def print_json(value: Any) -> None:
    """Dataclasses, dates and paths as JSON (UTF-8, Devanagari kept readable)."""
    sys.stdout.write(json.dumps(_plain(value), ensure_ascii=False, indent=2) + "\n")


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A table for people."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(table)


def when(moment: datetime | None, timezone: str) -> str:
    """A UTC instant in the office's time zone, or blank."""
    return local_text(moment, timezone) if moment else ""
