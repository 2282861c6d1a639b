"""Users and their roles per office. Roles are enforced here, in the engine, not in the CLI.

Users are deactivated, never deleted: every event keeps naming a user that still exists.  Every
user has an Ed25519 signing key from the moment they are enrolled (see
:mod:`qms_engine.people.keys`); an action is taken by an
:class:`~qms_engine.chain.unit_of_work.Actor`, which exists only once that key is unlocked with
the user's passphrase.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import sqlmodel
from sqlalchemy import delete, func, insert, select, update
from sqlmodel import Session

from qms_engine.chain import events
from qms_engine.chain.signing import NewKey, Signer, generate_key
from qms_engine.chain.unit_of_work import Actor, OfficeRef, UnitOfWork
from qms_engine.clock import utc_now
from qms_engine.errors import InvalidInput, RuleViolation
from qms_engine.i18n import _
from qms_engine.people.keys import admin_everywhere, announce_key, offices_of, register_key
from qms_engine.people.permissions import (
    ROLES_IN_OFFICE,
    find_user,
    load_actor,
    require_role,
)
from qms_engine.rules.roles import ADMIN
from qms_engine.runtime import Runtime
from qms_engine.storage.models import ROLE_TABLE, USER_TABLE, User, UserRole

# A conventional login name: ASCII lowercase letters, digits, '.', '-', '_', starting with a
# letter.  No look-alikes (Cyrillic 'а', full-width 'ｓ') and no case variants ('ASharma') can
# sit beside an existing name; full names stay free text in any script.
_USERNAME = re.compile(r"[a-z][a-z0-9._-]{1,63}", re.ASCII)


def check_roles(runtime: Runtime, roles: Iterable[str]) -> list[str]:
    """The roles, sorted, if every one is known to the engine or a plugin."""
    known = runtime.plugins.registry.roles
    wanted = sorted(set(roles))
    unknown = [role for role in wanted if role not in known]
    if unknown:
        raise InvalidInput(
            _("unknown role(s) {unknown} (known: {known})").format(
                unknown=unknown, known=", ".join(sorted(known))
            )
        )
    return wanted


def enroll(
    work: UnitOfWork,
    office: OfficeRef,
    *,
    by: Actor | None,
    username: str,
    full_name: str,
    key: NewKey,
    roles: Collection[str],
    kind: str = "person",
) -> Actor:
    """Insert a user, their key and roles, with the events; permission is the caller's to check.

    ``by=None`` is the founding admin of a deployment, who signs their own enrolment.
    """
    if not _USERNAME.fullmatch(username):
        raise InvalidInput(
            _(
                "user name {username} is not allowed: use 2–64 lowercase ASCII "
                "letters, digits, '.', '-' or '_', starting with a letter"
            ).format(username=repr(username)),
            hint=_("the full name (--name) may be written in any script"),
        )
    if not full_name.strip():
        raise RuleViolation(_("the full name is empty: it is printed beside every signature"))
    connection = work.connection
    taken = connection.execute(
        select(USER_TABLE.c.username).where(func.lower(USER_TABLE.c.username) == username)
    ).first()
    if taken is not None:  # compared without case: an older 'ASharma' blocks 'asharma'
        raise RuleViolation(
            _("user {value} already exists").format(value=repr(taken[0])),
            hint=_("see `qms user grant`"),
        )
    user_id = connection.execute(
        insert(USER_TABLE).returning(USER_TABLE.c.id),
        {
            "username": username,
            "full_name": full_name,
            "kind": kind,
            "active": True,
            "created_at": utc_now(),
        },
    ).scalar_one()
    signer = Signer(username, key.fingerprint, key.private_key)
    new_actor = Actor(user_id, username, full_name, kind, frozenset(), signer)
    founding = by is None
    by = by or new_actor
    register_key(work, office, by=by, owner=username, user_id=user_id, key=key, founding=founding)
    work.append(
        office,
        by,
        events.USER_CREATED,
        username,
        {"full_name": full_name, "kind": kind},
        role=ADMIN,
        founding=founding,
    )
    for role in sorted(roles):
        grant(work, office, by=by, user_id=user_id, username=username, role=role, founding=founding)
    return Actor(user_id, username, full_name, kind, frozenset(roles), signer)


def grant(
    work: UnitOfWork,
    office: OfficeRef,
    *,
    by: Actor,
    user_id: int,
    username: str,
    role: str,
    founding: bool = False,
) -> None:
    """Give a role in ``office``; the user's key is announced in that office's chain first.

    ``founding``: the office's founder giving themselves its first admin role."""
    announce_key(work, office, by=by, user_id=user_id, owner=username, founding=founding)
    work.connection.execute(
        insert(ROLE_TABLE), {"user_id": user_id, "office_id": office.id, "role": role}
    )
    work.append(
        office,
        by,
        events.USER_ROLE_GRANTED,
        username,
        {"role": role},
        role=ADMIN,
        founding=founding,
    )


def _admin(work: UnitOfWork, signer: Signer, office: OfficeRef, doing: str) -> Actor:
    work.lock(office)
    actor = load_actor(work.connection, signer, office)
    require_role(actor, {ADMIN}, office, doing)
    return actor


def _roles_of(work: UnitOfWork, user_id: int, office: OfficeRef) -> set[str]:
    return set(
        work.connection.execute(
            ROLES_IN_OFFICE, {"user_id": user_id, "office_id": office.id}
        ).scalars()
    )


def add_user(
    runtime: Runtime,
    office: OfficeRef,
    *,
    actor: Signer,
    username: str,
    full_name: str,
    roles: Collection[str],
    passphrase: str,
    kind: str = "person",
) -> None:
    """An admin enrolls a person (or service) with roles in ``office`` and a new signing key."""
    wanted = check_roles(runtime, roles)
    if not wanted and kind == "person":
        raise RuleViolation(_("give the new user at least one --role"))
    key = generate_key(passphrase)
    with runtime.unit_of_work() as work:
        admin = _admin(work, actor, office, "add users")
        enroll(
            work,
            office,
            by=admin,
            username=username,
            full_name=full_name,
            key=key,
            roles=wanted,
            kind=kind,
        )


def grant_roles(
    runtime: Runtime, office: OfficeRef, *, actor: Signer, username: str, roles: Collection[str]
) -> list[str]:
    """An admin grants roles in ``office`` (to a user of any office); returns the new ones."""
    wanted = check_roles(runtime, roles)
    with runtime.unit_of_work() as work:
        admin = _admin(work, actor, office, "grant roles")
        user_id, username = find_user(work.connection, username)
        active = work.connection.execute(
            select(USER_TABLE.c.active).where(USER_TABLE.c.id == user_id)
        ).scalar()
        if not active:
            raise RuleViolation(
                _("{username} is deactivated: a deactivated user gets no roles").format(
                    username=repr(username)
                )
            )
        added = [role for role in wanted if role not in _roles_of(work, user_id, office)]
        for role in added:
            grant(work, office, by=admin, user_id=user_id, username=username, role=role)
    return added


def revoke_roles(
    runtime: Runtime, office: OfficeRef, *, actor: Signer, username: str, roles: Collection[str]
) -> list[str]:
    """An admin revokes roles; nobody can revoke their own admin role (no lock-out)."""
    wanted = check_roles(runtime, roles)
    with runtime.unit_of_work() as work:
        admin = _admin(work, actor, office, "revoke roles")
        user_id, username = find_user(work.connection, username)
        if username == actor.username and ADMIN in wanted:
            raise RuleViolation(_("you cannot revoke your own admin role; ask another admin"))
        removed = [role for role in wanted if role in _roles_of(work, user_id, office)]
        for role in removed:
            work.connection.execute(
                delete(ROLE_TABLE).where(
                    ROLE_TABLE.c.user_id == user_id,
                    ROLE_TABLE.c.office_id == office.id,
                    ROLE_TABLE.c.role == role,
                )
            )
            work.append(
                office, admin, events.USER_ROLE_REVOKED, username, {"role": role}, role=ADMIN
            )
    return removed


def deactivate_user(
    runtime: Runtime, office: OfficeRef, *, actor: Signer, username: str, reason: str
) -> None:
    """An admin deactivates a user: they can no longer act; their history stays."""
    if not reason.strip():
        raise RuleViolation(_("give a --reason for deactivating a user"))
    with runtime.unit_of_work() as work:
        _admin(work, actor, office, "deactivate users")
        user_id, username = find_user(work.connection, username)
        if username == actor.username:
            raise RuleViolation(_("you cannot deactivate yourself; ask another admin"))
        offices = offices_of(work, user_id, office)
        admins = admin_everywhere(work, actor, offices, f"deactivate {username}")
        work.connection.execute(
            update(USER_TABLE).where(USER_TABLE.c.id == user_id).values(active=False)
        )
        for each in offices:  # every office the user works in hears of it, in its own chain
            work.append(
                each,
                admins[each.id],
                events.USER_DEACTIVATED,
                username,
                {"reason": reason},
                role=ADMIN,
            )


@dataclass(frozen=True)
class UserView:
    """A user as listed: name, kind, whether active, and roles in the office."""

    username: str
    full_name: str
    kind: str
    active: bool
    roles: list[str]


def list_users(runtime: Runtime, office: OfficeRef) -> list[UserView]:
    """Every user, with their roles in ``office``."""
    with Session(runtime.engine) as session:
        users = session.exec(sqlmodel.select(User).order_by(User.username)).all()
        roles: dict[int, list[str]] = {}
        grants = sqlmodel.select(UserRole).where(UserRole.office_id == office.id)
        for granted in session.exec(grants).all():
            roles.setdefault(granted.user_id, []).append(granted.role)
    return [
        UserView(u.username, u.full_name, u.kind, u.active, sorted(roles.get(u.id or 0, [])))
        for u in users
    ]
