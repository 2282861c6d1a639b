"""Who may do what: a user's unlocked key, active account and roles, checked in the engine.

Every write path calls :func:`load_actor` inside its transaction (after the chain-head lock),
so a role revoked or a key revoked a moment ago already counts.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, func, select

from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import Actor, OfficeRef
from qms_engine.errors import NotFound, PermissionDenied
from qms_engine.i18n import _
from qms_engine.storage.database import Prepared
from qms_engine.storage.models import KEY_REGISTRATION_TABLE, KEY_TABLE, ROLE_TABLE, USER_TABLE

_ACTOR = Prepared(
    select(
        USER_TABLE.c.id,
        USER_TABLE.c.full_name,
        USER_TABLE.c.kind,
        USER_TABLE.c.active,
        KEY_TABLE.c.user_id,
        KEY_TABLE.c.valid_until,
        KEY_TABLE.c.revoked_reason,
        KEY_REGISTRATION_TABLE.c.own,
        ROLE_TABLE.c.role,
    )
    .select_from(USER_TABLE)
    .outerjoin(KEY_TABLE, KEY_TABLE.c.fingerprint == bindparam("fingerprint"))
    .outerjoin(
        KEY_REGISTRATION_TABLE,
        (KEY_REGISTRATION_TABLE.c.fingerprint == KEY_TABLE.c.fingerprint)
        & (KEY_REGISTRATION_TABLE.c.office_id == bindparam("office_id")),
    )
    .outerjoin(
        ROLE_TABLE,
        (ROLE_TABLE.c.user_id == USER_TABLE.c.id)
        & (ROLE_TABLE.c.office_id == bindparam("office_id")),
    )
    .where(USER_TABLE.c.username == bindparam("username"))
)
ROLES_IN_OFFICE = select(ROLE_TABLE.c.role).where(
    ROLE_TABLE.c.user_id == bindparam("user_id"), ROLE_TABLE.c.office_id == bindparam("office_id")
)
_USERS_NAMED = select(USER_TABLE.c.id, USER_TABLE.c.username).where(
    func.lower(USER_TABLE.c.username) == bindparam("folded")
)


def find_user(connection: Connection, name: str) -> tuple[int, str]:
    """The id and stored name of the user called ``name``, whatever its letter case (the README
    promises it; ``qms user add`` refuses a name differing from another only in case), so that
    ``--as ASharma`` acts, and signs, as ``asharma``.  NotFound if there is none."""
    given = name.strip()
    rows = connection.execute(_USERS_NAMED, {"folded": given.lower()}).all()
    exact = [row for row in rows if row.username == given]
    if len(rows) > 1 and not exact:  # only an old deployment can hold both 'ASharma' and 'asharma'
        names = ", ".join(sorted(repr(row.username) for row in rows))
        raise NotFound(
            _("{given} could be any of {names}").format(given=repr(given), names=names),
            hint=_("type the name exactly"),
        )
    if not rows:
        raise NotFound(
            _("no user {given}").format(given=repr(given)), hint=_("see `qms user list`")
        )
    user_id, username = (exact or rows)[0]
    return int(user_id), str(username)


@dataclass(frozen=True)
class Member:
    """A user someone names (an action's owner, an auditor, an area's owner) as the rules
    about them need them: a person or a service, active or not, their roles in an office."""

    id: int
    username: str
    kind: str
    active: bool
    roles: frozenset[str]


def find_member(connection: Connection, name: str, office: OfficeRef) -> Member:
    """The user called ``name`` (:func:`find_user`) with their kind, whether they are active,
    and their roles in ``office`` (none: not enrolled there).  NotFound if there is none."""
    user_id, username = find_user(connection, name)
    kind, active = connection.execute(
        select(USER_TABLE.c.kind, USER_TABLE.c.active).where(USER_TABLE.c.id == user_id)
    ).one()
    roles = connection.execute(ROLES_IN_OFFICE, {"user_id": user_id, "office_id": office.id})
    return Member(user_id, username, str(kind), bool(active), frozenset(roles.scalars()))


def load_actor(
    connection: Connection, signer: Signer, office: OfficeRef, *, own_key_change: bool = False
) -> Actor:
    """The active user behind ``signer`` with their roles in ``office``; the key must be current,
    registered in the office's chain, and the user's own there: a key an admin issued (or
    announced in another office) signs nothing but the user's own change of key
    (``own_key_change``), as 21 CFR 11.300 asks of a temporary credential."""
    rows = _ACTOR.rows(
        connection, username=signer.username, fingerprint=signer.fingerprint, office_id=office.id
    )
    if not rows:
        raise NotFound(
            _("no user {username}").format(username=repr(signer.username)),
            hint=_("see `qms user list`"),
        )
    user_id, full_name, kind, active, key_owner, valid_until, revoked_reason, own, _role = rows[0]
    if not active:
        raise PermissionDenied(
            _("user {username} is deactivated and cannot act").format(
                username=repr(signer.username)
            )
        )
    if key_owner != user_id or valid_until is not None:
        why = (
            _("was revoked ({revoked_reason})").format(revoked_reason=revoked_reason)
            if revoked_reason
            else _("is no longer valid")
        )
        issue = _("an admin issues a new one: qms --office {code} key rotate {username}").format(
            code=office.code, username=signer.username
        )
        raise PermissionDenied(
            _("{username}'s signing key {value}… {why}").format(
                username=repr(signer.username), value=signer.fingerprint[:16], why=why
            ),
            hint=issue
            if revoked_reason
            else _("if {username} chose a newer key, give its passphrase; if it is lost, ").format(
                username=repr(signer.username)
            )
            + issue,
        )
    if own is None:
        raise PermissionDenied(
            _("{username}'s signing key {value}… is not registered in {code}'s audit trail").format(
                username=repr(signer.username), value=signer.fingerprint[:16], code=office.code
            ),
            hint=_(
                "an admin of {code} grants a role there: qms --office {code} "
                "user grant {username} ROLE --as ADMIN"
            ).format(code=office.code, username=signer.username),
        )
    if not own and not own_key_change:
        raise PermissionDenied(
            _(
                "{username}'s signing key {value}… was issued by an admin in "
                "{code}: it signs nothing until {username} has chosen their own "
                "key"
            ).format(
                username=repr(signer.username), value=signer.fingerprint[:16], code=office.code
            ),
            hint=_("qms --office {code} key rotate {username} --as {username}").format(
                code=office.code, username=signer.username
            ),
        )
    roles = frozenset(row[-1] for row in rows if row[-1] is not None)
    return Actor(user_id, signer.username, full_name, kind, roles, signer)


def _role_to_grant(allowed: Collection[str]) -> str:
    """The role to name in a grant command: the only one allowed, else ``ROLE``."""
    return next(iter(allowed)) if len(allowed) == 1 else "ROLE"


def require_role(actor: Actor, allowed: Collection[str], office: OfficeRef, doing: str) -> str:
    """Refuse unless ``actor`` holds one of ``allowed`` in ``office``; returns the role used."""
    held = sorted(actor.roles & set(allowed))
    if not held:
        has = ", ".join(sorted(actor.roles)) or _("none")
        raise PermissionDenied(
            _("{username} may not {doing} in {code}: needs role {allowed} (has: {has})").format(
                username=repr(actor.username),
                doing=doing,
                code=office.code,
                allowed=" or ".join(sorted(allowed)),
                has=has,
            ),
            hint=_(
                "an admin can grant it: qms --office {code} user grant {username} {role} --as ADMIN"
            ).format(code=office.code, username=actor.username, role=_role_to_grant(allowed)),
        )
    return held[0]
