"""`qms demo`: build a demo police-station workspace and show what happened."""

from __future__ import annotations

from pathlib import Path

import click

from qms_engine.cli.check import print_readiness
from qms_engine.cli.context import console
from qms_engine.cli.nc import print_nc
from qms_engine.cli.registers import print_entries
from qms_engine.cli.search import print_search_results
from qms_engine.cli.tasks import print_tasks
from qms_engine.cli.views import print_log, print_master_list
from qms_engine.i18n import _


@click.command("demo")
@click.argument("directory", default="qms-demo", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--database-url",
    envvar="QMS_DATABASE_URL",
    help="Database (default: SQLite inside the workspace; or $QMS_DATABASE_URL), as for qms init.",
)
def demo(directory: Path, database_url: str | None) -> None:
    """Build a demo workspace in DIRECTORY (default ./qms-demo): users, SOPs through review,
    approval, issue and revision, a day of the General Diary with a correction, an FIR, case
    property sent to the laboratory, citizen feedback whose poor ratings raise a
    nonconformity taken to closure; then the master list, the audit log, the nonconformity's
    signed history, what two people have to do (`qms tasks`), a search for a Hindi phrase and
    what an ISO 9001 audit would still find missing (`qms check readiness`)."""
    from qms_engine.capa.records import actions_of, load_nc, nc_history
    from qms_engine.chain.reader import tail_events
    from qms_engine.demo import build_demo
    from qms_engine.documents.master_list import list_documents
    from qms_engine.extension.manager import load_plugins
    from qms_engine.registers.entries import list_entries
    from qms_engine.reports.readiness import office_readiness
    from qms_engine.runtime import Runtime
    from qms_engine.search.query import search
    from qms_engine.storage.workspace import Workspace
    from qms_engine.tasks import tasks_for

    result = build_demo(
        directory, lambda line: console().print(f"• {line}"), database_url=database_url
    )
    runtime = Runtime.open(Workspace.load(result.root), load_plugins())
    try:
        office = runtime.office()
        print_master_list(
            list_documents(runtime, office=office),
            {office.code: office.timezone},
            title=_("Master list"),
            empty=_("No documents."),
        )
        with runtime.engine.connect() as connection:
            events = tail_events(connection, office.id, 12)
        print_log(events, office, title=_("Audit log (newest 12)"), empty=_("No events."))
        console().print("\n$ qms register list GD")
        print_entries("GD", list_entries(runtime, office, "GD", None))
        console().print(f"\n$ qms nc show {result.feedback.nc}")
        with runtime.engine.connect() as connection:
            nc = load_nc(connection, result.feedback.nc)
            print_nc(nc, actions_of(connection, nc), nc_history(connection, office, nc.number))
        for username in ("sksingh", "rverma"):
            console().print(f"\n$ qms tasks --as {username}")
            print_tasks(tasks_for(runtime, office, username))
        console().print(f"\n$ qms search '{DEMO_SEARCH}'")
        print_search_results(search(runtime, office, DEMO_SEARCH))
        console().print("\n$ qms check readiness")
        print_readiness(office_readiness(runtime, office))
    finally:
        runtime.close()
    console().print(
        "\n"
        + _("Try: cd {root} && qms doc show {number}").format(
            root=result.root, number=result.gd_sop
        )
    )
    console().print(_passphrase_note())


#: Words only in the body of the Hindi SOP (and the malkhana entry): the .docx text is searched.
DEMO_SEARCH = "सील संख्या"


def _passphrase_note() -> str:
    """How to continue the tour as the demo's people: the passphrase they all share."""
    from qms_engine.demo import DEMO_PASSPHRASE, PEOPLE

    people = ", ".join(["admin", *(person[0] for person in PEOPLE)])
    return _(
        "Every demo user ({people}) and the office key have the passphrase "
        "{passphrase} (a demo, not a deployment). To carry on as them:\n"
        "  export QMS_PASSPHRASE={plain} QMS_OFFICE_PASSPHRASE={plain}"
    ).format(people=people, passphrase=repr(DEMO_PASSPHRASE), plain=DEMO_PASSPHRASE)


COMMANDS = [demo]
