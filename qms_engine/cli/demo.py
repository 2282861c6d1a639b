"""`qms demo`: build a demo police-station workspace and show what happened."""

from __future__ import annotations

from pathlib import Path

import click

from qms_engine.cli.context import console, print_table, when


@click.command("demo")
@click.argument("directory", default="qms-demo", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--database-url",
    envvar="QMS_DATABASE_URL",
    help="Database (default: SQLite inside the workspace; or $QMS_DATABASE_URL), as for qms init.",
)
def demo(directory: Path, database_url: str | None) -> None:
    """Build a demo workspace in DIRECTORY (default ./qms-demo): users, two SOPs, a revision."""
    from qms_engine.chain.reader import tail_events
    from qms_engine.clock import from_utc_text, local_text
    from qms_engine.demo import build_demo
    from qms_engine.documents.master_list import list_documents
    from qms_engine.extension.manager import load_plugins
    from qms_engine.runtime import Runtime
    from qms_engine.storage.workspace import Workspace

    result = build_demo(
        directory, lambda line: console().print(f"• {line}"), database_url=database_url
    )
    runtime = Runtime.open(Workspace.load(result.root), load_plugins())
    try:
        office = runtime.office()
        documents = list_documents(runtime, office=office)
        print_table(
            "Master list",
            ["Number", "Title", "Effective rev", "Since", "Review due", "Latest rev", "State"],
            [
                (
                    d.number,
                    d.title,
                    d.effective_revno,
                    when(d.effective_since, office.timezone),
                    d.review_due,
                    d.latest_revno,
                    d.latest_state,
                )
                for d in documents
            ],
        )
        with runtime.engine.connect() as connection:
            events = tail_events(connection, office.id, 12)
        print_table(
            "Audit log (newest 12)",
            ["#", "When", "Who", "What", "Subject", "Hash"],
            [
                (
                    e.seq,
                    local_text(from_utc_text(e.recorded_at), office.timezone),
                    e.actor,
                    e.action,
                    e.subject,
                    e.hash[:12],
                )
                for e in events
            ],
        )
    finally:
        runtime.close()
    console().print(f"\nTry: cd {result.root} && qms doc show {result.gd_sop}")


COMMANDS = [demo]
