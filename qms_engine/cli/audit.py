"""`qms log` and `qms audit …`: reading and verifying the audit trail."""

from __future__ import annotations

import json

import click

from qms_engine.audit import tail_events, verify_chain
from qms_engine.cli.context import (
    AppContext,
    console,
    json_option,
    pass_app,
    print_json,
    print_table,
)
from qms_engine.clock import from_utc_text, local_text


@click.command("log")
@click.option("-n", "--limit", default=20, show_default=True, help="How many of the newest events.")
@json_option
@pass_app
def log(app: AppContext, limit: int, as_json: bool) -> None:
    """The office's audit log (newest last), with each event's hash."""
    office = app.office()
    with app.runtime.engine.connect() as connection:
        events = tail_events(connection, office.id, limit)
    if as_json:
        print_json(
            [
                {
                    **e.model_dump(exclude={"office_id"}),
                    "payload": json.loads(e.payload),
                    "office": office.code,
                }
                for e in events
            ]
        )
        return
    print_table(
        f"Audit log of {office.code} ({office.name})",
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


@click.group()
def audit() -> None:
    """Verify the tamper-evident audit trail."""


@audit.command("verify")
@pass_app
def audit_verify(app: AppContext) -> None:
    """Check every hash link and sequence number of the office's chain (exit 6 on failure)."""
    office = app.office()
    with app.runtime.engine.connect() as connection:
        count = verify_chain(connection, office)
    console.print(f"{office.code}: {count} events, chain intact")


COMMANDS = [log, audit]
