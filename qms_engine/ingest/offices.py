"""Which offices an inbox run serves, and opening a workspace's inbox (one folder per office).

A run (``qms watch``, ``qms ingest``) files each office's files in that office's chain, signed
by the service user it runs as.  It serves every office where that user holds a role with a
key of its own there (or the one office asked for with ``--office``); another office's folder
is left alone and the run says why, so a person can enrol the service there.  A run whose
key ends while it goes on (``qms key rotate ingest``, a revocation, a deactivation, a role
revoked) stops serving the offices where it can no longer sign (:func:`ended_in`): their
files are left in the inbox for a run with a valid key, never quarantined.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.exc import DBAPIError

from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import local_text
from qms_engine.errors import PermissionDenied, QmsError
from qms_engine.i18n import _
from qms_engine.ingest.inbox import Inbox, Quarantined
from qms_engine.people.permissions import load_actor
from qms_engine.runtime import Runtime
from qms_engine.storage.inbox_layout import office_folders, upgrade_layout
from qms_engine.storage.models import KEY_TABLE, OFFICE_TABLE, USER_TABLE

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
        made = office_folders(runtime.workspace, office.code, spec.inbox_folders)
        if made:
            tell(
                _("made inbox/{code}/ ({items})").format(
                    code=office.code, items=", ".join(p.name for p in made)
                )
            )
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
                refused[office.code] = _(
                    "{username} holds no role in {code}; an admin there can grant "
                    "them: qms --office {code} user grant {username2} clerk author"
                ).format(
                    username=repr(signer.username), code=office.code, username2=signer.username
                )
                continue
            served[office.code] = office
    if not served:
        why = "; ".join(f"{code}: {reason}" for code, reason in refused.items())
        raise PermissionDenied(
            _("{username} may file into no office's inbox ({why})").format(
                username=repr(signer.username), why=why
            ),
            hint=_("run the watcher as the inbox service user, enrolled where it files"),
        )
    return served, refused


@dataclass(frozen=True)
class Ended:
    """Why a running watcher stopped serving an office: its signer can no longer sign there."""

    problem: str
    """What happened: ``the key of 'ingest' in PS-KOT39 was replaced at 2026-11-24 10:10 IST``."""
    restart: str
    """How to start the run again so that it serves the office: ``with its new passphrase``."""

    def told(self, start_again: str) -> str:
        """The problem and what to do: ``start_again`` names the command (``restart `qms
        watch```), followed by :attr:`restart`."""
        return f"{self.problem}: {start_again} {self.restart}"


def ended_in(runtime: Runtime, signer: Signer, offices: Iterable[OfficeRef]) -> dict[str, Ended]:
    """The ``offices`` (by code) where ``signer`` can no longer file, with why: its key ended
    (replaced or revoked), its user deactivated, or every role of it there revoked.

    A database that cannot be reached decides nothing (an empty answer): the run asks again.
    """
    ended: dict[str, Ended] = {}
    try:
        with runtime.engine.connect() as connection:
            for office in offices:
                try:
                    actor = load_actor(connection, signer, office)
                except QmsError as refused:
                    ended[office.code] = _why_ended(connection, signer, office, refused)
                    continue
                if not actor.roles:
                    ended[office.code] = Ended(
                        _("{username} no longer holds a role in {code}").format(
                            username=repr(signer.username), code=office.code
                        ),
                        _(
                            "once an admin there has granted one again: qms --office {code} "
                            "user grant {username} clerk author"
                        ).format(code=office.code, username=signer.username),
                    )
    except DBAPIError:
        return {}
    return ended


def _why_ended(
    connection: Connection, signer: Signer, office: OfficeRef, refused: QmsError
) -> Ended:
    """The words for a signer refused in ``office``: when its key was replaced or revoked (in
    the office's zone), or that its user was deactivated."""
    user = signer.username  # as stored: keys.unlock gives the stored name, whatever was typed
    active = connection.execute(
        select(USER_TABLE.c.active).where(USER_TABLE.c.username == user)
    ).scalar()
    if active is False:
        return Ended(
            _("{user} was deactivated").format(user=repr(user)),
            "as another inbox service user (an admin enrols one: qms user add … --service)",
        )
    key = connection.execute(
        select(KEY_TABLE.c.valid_until, KEY_TABLE.c.revoked_reason).where(
            KEY_TABLE.c.fingerprint == signer.fingerprint
        )
    ).first()
    if key is None or key.valid_until is None:
        return Ended(
            str(refused),
            _("once that is put right ({value})").format(value=refused.hint or _("ask an admin")),
        )
    at = local_text(key.valid_until, office.timezone)
    if key.revoked_reason:
        return Ended(
            _("the key of {user} in {code} was revoked at {at} ({revoked_reason})").format(
                user=repr(user), code=office.code, at=at, revoked_reason=key.revoked_reason
            ),
            _(
                "once an admin has issued a new key (qms key rotate {user} --as "
                "ADMIN), with its passphrase"
            ).format(user=user),
        )
    return Ended(
        _("the key of {user} in {code} was replaced at {at}").format(
            user=repr(user), code=office.code, at=at
        ),
        _("with its new passphrase"),
    )
