"""Users and their roles per office. Roles are enforced here, in the engine, not in the CLI.

Users are deactivated, never deleted: every event keeps naming a user that still exists.
Service actors (``kind == "service"``: the system itself, later the ingester) act only through
the engine's own code paths, never as ``--as``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import sqlmodel
from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlmodel import Session

from qms_engine import events
from qms_engine.audit import OfficeRef, UnitOfWork
from qms_engine.clock import utc_now
from qms_engine.errors import NotFound, PermissionDenied, RuleViolation
from qms_engine.models import ROLE_TABLE, USER_TABLE, User, UserRole
from qms_engine.runtime import Runtime

SYSTEM_USER = "system"
ADMIN_ROLE = "admin"
_USERNAME = re.compile(r"^\w[\w.-]{1,63}$")


_ACTOR = select(
    USER_TABLE.c.id, USER_TABLE.c.full_name, USER_TABLE.c.kind, USER_TABLE.c.active
).where(USER_TABLE.c.username == bindparam("username"))
_ROLES = select(ROLE_TABLE.c.role).where(
    ROLE_TABLE.c.user_id == bindparam("user_id"), ROLE_TABLE.c.office_id == bindparam("office_id")
)


@dataclass(frozen=True)
class Actor:
    """A user about to act in an office, with the roles they hold there."""

    id: int
    username: str
    full_name: str
    kind: str
    roles: frozenset[str]


def load_actor(connection: Connection, username: str, office: OfficeRef) -> Actor:
    """The active user ``username`` with their roles in ``office``."""
    row = connection.execute(_ACTOR, {"username": username}).first()
    if row is None:
        raise NotFound(f"no user {username!r}", hint="see `qms user list`")
    if not row.active:
        raise PermissionDenied(f"user {username!r} is deactivated and cannot act")
    roles = frozenset(
        connection.execute(_ROLES, {"user_id": row.id, "office_id": office.id}).scalars()
    )
    return Actor(row.id, username, row.full_name, row.kind, roles)


def require_role(actor: Actor, allowed: Collection[str], office: OfficeRef, doing: str) -> None:
    """Refuse unless ``actor`` is a person holding one of ``allowed`` in ``office``."""
    if actor.kind != "person":
        raise PermissionDenied(f"{actor.username!r} is a service actor and cannot {doing}")
    if not actor.roles & set(allowed):
        held = ", ".join(sorted(actor.roles)) or "none"
        raise PermissionDenied(
            f"{actor.username!r} may not {doing} in {office.code}: needs role "
            f"{' or '.join(sorted(allowed))} (has: {held})",
            hint=f"an admin can grant it: qms user grant {actor.username} ROLE",
        )


def _check_roles(runtime: Runtime, roles: Iterable[str]) -> list[str]:
    known = runtime.plugins.registry.roles
    wanted = sorted(set(roles))
    unknown = [role for role in wanted if role not in known]
    if unknown:
        raise RuleViolation(f"unknown role(s) {unknown} (known: {', '.join(sorted(known))})")
    return wanted


def create_user(
    work: UnitOfWork,
    office: OfficeRef,
    *,
    actor: str,
    username: str,
    full_name: str,
    roles: Collection[str],
    kind: str = "person",
) -> int:
    """Insert a user with roles and its events; the caller has already checked permission."""
    if not _USERNAME.match(username):
        raise RuleViolation(
            f"user name {username!r} is not allowed: use 2–64 letters, digits, '.', '-' or '_'"
        )
    if not full_name.strip():
        raise RuleViolation("the full name is empty: it is printed beside every signature")
    connection = work.connection
    if connection.execute(_ACTOR, {"username": username}).first() is not None:
        raise RuleViolation(
            f"user {username!r} already exists", hint="grant roles with `qms user grant`"
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
    work.append(
        office, actor, events.USER_CREATED, username, {"full_name": full_name, "kind": kind}
    )
    for role in sorted(roles):
        _grant(work, office, actor, user_id, username, role)
    return int(user_id)


def _grant(
    work: UnitOfWork, office: OfficeRef, actor: str, user_id: int, username: str, role: str
) -> None:
    work.connection.execute(
        insert(ROLE_TABLE), {"user_id": user_id, "office_id": office.id, "role": role}
    )
    work.append(office, actor, events.USER_ROLE_GRANTED, username, {"role": role})


def add_user(
    runtime: Runtime,
    office: OfficeRef,
    *,
    actor: str,
    username: str,
    full_name: str,
    roles: Collection[str],
) -> None:
    """An admin adds a person with roles in ``office``."""
    wanted = _check_roles(runtime, roles)
    if not wanted:
        raise RuleViolation("give the new user at least one --role")
    with runtime.unit_of_work() as work:
        work.lock(office)
        require_role(load_actor(work.connection, actor, office), {ADMIN_ROLE}, office, "add users")
        create_user(work, office, actor=actor, username=username, full_name=full_name, roles=wanted)


def grant_roles(
    runtime: Runtime, office: OfficeRef, *, actor: str, username: str, roles: Collection[str]
) -> list[str]:
    """An admin grants roles; returns the roles that were new."""
    wanted = _check_roles(runtime, roles)
    with runtime.unit_of_work() as work:
        work.lock(office)
        require_role(
            load_actor(work.connection, actor, office), {ADMIN_ROLE}, office, "grant roles"
        )
        target = load_actor(work.connection, username, office)
        added = [role for role in wanted if role not in target.roles]
        for role in added:
            _grant(work, office, actor, target.id, username, role)
    return added


def revoke_roles(
    runtime: Runtime, office: OfficeRef, *, actor: str, username: str, roles: Collection[str]
) -> list[str]:
    """An admin revokes roles; an admin cannot revoke their own admin role (no lock-out)."""
    wanted = _check_roles(runtime, roles)
    if username == actor and ADMIN_ROLE in wanted:
        raise RuleViolation("you cannot revoke your own admin role; ask another admin")
    with runtime.unit_of_work() as work:
        work.lock(office)
        require_role(
            load_actor(work.connection, actor, office), {ADMIN_ROLE}, office, "revoke roles"
        )
        target = load_actor(work.connection, username, office)
        removed = [role for role in wanted if role in target.roles]
        for role in removed:
            work.connection.execute(
                delete(ROLE_TABLE).where(
                    ROLE_TABLE.c.user_id == target.id,
                    ROLE_TABLE.c.office_id == office.id,
                    ROLE_TABLE.c.role == role,
                )
            )
            work.append(office, actor, events.USER_ROLE_REVOKED, username, {"role": role})
    return removed


def deactivate_user(
    runtime: Runtime, office: OfficeRef, *, actor: str, username: str, reason: str
) -> None:
    """An admin deactivates a user: they can no longer act; their history stays."""
    if username == actor:
        raise RuleViolation("you cannot deactivate yourself; ask another admin")
    if not reason.strip():
        raise RuleViolation("give a --reason for deactivating a user")
    with runtime.unit_of_work() as work:
        work.lock(office)
        require_role(
            load_actor(work.connection, actor, office), {ADMIN_ROLE}, office, "deactivate users"
        )
        target = load_actor(work.connection, username, office)
        work.connection.execute(
            update(USER_TABLE).where(USER_TABLE.c.id == target.id).values(active=False)
        )
        work.append(office, actor, events.USER_DEACTIVATED, username, {"reason": reason})


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
        for grant in session.exec(grants).all():
            roles.setdefault(grant.user_id, []).append(grant.role)
    return [
        UserView(
            user.username,
            user.full_name,
            user.kind,
            user.active,
            sorted(roles.get(user.id or 0, [])),
        )
        for user in users
    ]
