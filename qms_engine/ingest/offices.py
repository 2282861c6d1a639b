"""Which offices an inbox run serves, and opening a workspace's inbox (one folder per office).

A run (``qms watch``, ``qms ingest``) files each office's files in that office's chain, signed
by the service user it runs as.  It serves every office where that user holds a role with a
key of its own there (or the one office asked for with ``--office``); another office's folder
is left alone and the run says why, so a person can enrol the service there.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.errors import PermissionDenied, QmsError
from qms_engine.ingest.inbox import Inbox, Quarantined
from qms_engine.people.permissions import load_actor
from qms_engine.runtime import Runtime
from qms_engine.storage.inbox_layout import office_folders, upgrade_layout
from qms_engine.storage.models import OFFICE_TABLE

Say = Callable[[str], None]


def all_offices(runtime: Runtime) -> list[OfficeRef]:
    """Every office of the deployment, by code."""
    with runtime.engine.connect() as connection:
        rows = connection.execute(select(OFFICE_TABLE).order_by(OFFICE_TABLE.c.code)).all()
    return [OfficeRef(r.id, r.code, r.name, r.office_type, r.timezone) for r in rows]


def office_exists(runtime: Runtime, code: str) -> bool:
    """Whether the deployment has an office ``code``."""
    with runtime.engine.connect() as connection:
        found = connection.execute(select(OFFICE_TABLE.c.id).where(OFFICE_TABLE.c.code == code))
        return found.first() is not None


def open_inbox(runtime: Runtime, say: Say | None = None) -> Inbox:
    """The workspace's inbox, moved to one folder per office first if it was shared, with the
    folders of an office that has none yet (one added before offices had their own); ``say``
    hears what was moved or made."""
    tell = say or (lambda _line: None)
    for line in upgrade_layout(runtime.workspace):
        tell(line)
    offices = all_offices(runtime)
    for office in offices:
        if (runtime.workspace.inbox_dir / office.code).exists():
            continue
        try:
            spec = runtime.plugins.registry.office_type(office.office_type)
        except QmsError:  # its plugin is not installed: its files will be refused, saying so
            continue
        folders = [t.inbox_folder for t in spec.document_types if t.inbox_folder]
        made = office_folders(runtime.workspace, office.code, folders)
        if made:
            tell(f"made inbox/{office.code}/ ({', '.join(p.name for p in made)})")
    return Inbox(runtime.workspace, [office.code for office in offices])


def quarantined_in(runtime: Runtime, office: str | None = None) -> list[Quarantined]:
    """Files the inbox refused (of ``office``, or of all offices and none), for a person to fix
    and put back; opens the inbox as every inbox command does."""
    return open_inbox(runtime).quarantined(office)


def served_offices(
    runtime: Runtime, signer: Signer, only: str | None = None
) -> tuple[dict[str, OfficeRef], dict[str, str]]:
    """The offices whose inbox ``signer`` may file from (by code), and the others with why not.

    ``only``: that office alone, refused (PermissionDenied) if the signer cannot file there.
    """
    offices = [runtime.office(only)] if only is not None else all_offices(runtime)
    served: dict[str, OfficeRef] = {}
    refused: dict[str, str] = {}
    with runtime.engine.connect() as connection:
        for office in offices:
            try:
                actor = load_actor(connection, signer, office)
            except PermissionDenied as denied:
                refused[office.code] = f"{denied}" + (f"; {denied.hint}" if denied.hint else "")
                continue
            if not actor.roles:
                refused[office.code] = (
                    f"{signer.username!r} holds no role in {office.code}; an admin there can "
                    f"grant them: qms --office {office.code} user grant {signer.username} "
                    "clerk author"
                )
                continue
            served[office.code] = office
    if not served:
        why = "; ".join(f"{code}: {reason}" for code, reason in refused.items())
        raise PermissionDenied(
            f"{signer.username!r} may file into no office's inbox ({why})",
            hint="run the watcher as the inbox service user, enrolled where it files",
        )
    return served, refused
