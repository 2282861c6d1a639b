"""Signing keys on the audit trail: registered, announced per office, rotated, revoked.

Every key's public half is written into the chain of each office where its owner holds a role
(``key.registered``), before the owner's first signature there.  A verifier therefore learns
every key, and when it stopped being valid (``key.retired``, ``key.revoked``), from the chain
itself; the key table is a convenience that verification cross-checks.

A passphrase only seals this installation's copy of a private key (chain/signing.py), so
changing it (:func:`change_passphrase`, and :func:`change_office_passphrase` for the office
key) writes no event: the key, and everything a verifier can check, stays the same.  Someone
who may know a user's passphrase is shut out by a new key (:func:`rotate`), not a new
passphrase: an older copy of the sealed key, in a backup for instance, still opens with the
old one.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import bindparam, insert, select, update

from qms_engine.chain import events
from qms_engine.chain.signing import (
    NewKey,
    Signer,
    check_passphrase,
    generate_key,
    normal,
    open_envelope,
    seal,
)
from qms_engine.chain.unit_of_work import Actor, OfficeRef, UnitOfWork
from qms_engine.clock import utc_now
from qms_engine.errors import InvalidInput, PermissionDenied, RuleViolation
from qms_engine.i18n import _
from qms_engine.people.permissions import find_user, load_actor, require_role
from qms_engine.rules import roles
from qms_engine.runtime import Runtime
from qms_engine.storage.database import write_transaction
from qms_engine.storage.models import (
    KEY_REGISTRATION_TABLE,
    KEY_TABLE,
    OFFICE_TABLE,
    ROLE_TABLE,
)

_SEALED = select(
    KEY_TABLE.c.id, KEY_TABLE.c.fingerprint, KEY_TABLE.c.public_key, KEY_TABLE.c.envelope
).where(KEY_TABLE.c.valid_until.is_(None))
_CURRENT_KEY = _SEALED.where(KEY_TABLE.c.user_id == bindparam("user_id"))


def _announce(
    work: UnitOfWork,
    office: OfficeRef,
    *,
    by: Actor,
    owner: str,
    fingerprint: str,
    public_key: str,
    purpose: str,
    role: str,
    founding: bool = False,
) -> None:
    """Write ``key.registered`` into one office's chain, and remember there whether the owner
    registered it (their own key) or someone else did (issued or announced: temporary)."""
    record = work.append(
        office,
        by,
        events.KEY_REGISTERED,
        owner,
        {"owner": owner, "fingerprint": fingerprint, "public_key": public_key, "purpose": purpose},
        role=role,
        founding=founding,
    )
    work.connection.execute(
        insert(KEY_REGISTRATION_TABLE),
        {
            "office_id": office.id,
            "fingerprint": fingerprint,
            "own": by.username == owner,
            "event_seq": record.seq,
        },
    )


def register_key(
    work: UnitOfWork,
    office: OfficeRef,
    *,
    by: Actor,
    owner: str,
    user_id: int | None,
    key: NewKey,
    purpose: str = "user",
    role: str = roles.ADMIN,
    founding: bool = False,
) -> None:
    """Store a new key (sealed) and write ``key.registered`` into the office's chain
    (``founding``: the office's founder registering their own key)."""
    work.connection.execute(
        insert(KEY_TABLE),
        {
            "fingerprint": key.fingerprint,
            "public_key": key.public_key.hex(),
            "envelope": key.envelope,
            "user_id": user_id,
            "office_id": office.id if purpose == "office" else None,
            "valid_from": utc_now(),
        },
    )
    _announce(
        work,
        office,
        by=by,
        owner=owner,
        fingerprint=key.fingerprint,
        public_key=key.public_key.hex(),
        purpose=purpose,
        role=role,
        founding=founding,
    )


def current_key(work: UnitOfWork, user_id: int) -> Any:
    """The user's key that is valid now (id, fingerprint, public key), if any."""
    return work.connection.execute(
        select(KEY_TABLE.c.id, KEY_TABLE.c.fingerprint, KEY_TABLE.c.public_key).where(
            KEY_TABLE.c.user_id == user_id, KEY_TABLE.c.valid_until.is_(None)
        )
    ).first()


def announce_key(
    work: UnitOfWork,
    office: OfficeRef,
    *,
    by: Actor,
    user_id: int,
    owner: str,
    founding: bool = False,
) -> None:
    """Make sure the owner's current key is in this office's chain before they act there."""
    key = current_key(work, user_id)
    if key is None:
        return
    announced = work.connection.execute(
        select(KEY_REGISTRATION_TABLE.c.fingerprint).where(
            KEY_REGISTRATION_TABLE.c.office_id == office.id,
            KEY_REGISTRATION_TABLE.c.fingerprint == key.fingerprint,
        )
    ).first()
    if announced is not None:
        return
    _announce(
        work,
        office,
        by=by,
        owner=owner,
        fingerprint=key.fingerprint,
        public_key=key.public_key,
        purpose="user",
        role=roles.ADMIN,
        founding=founding,
    )


def _sealed_key(runtime: Runtime, name: str) -> tuple[str, Any]:
    """The user's stored name (``name`` in any letter case) and current key row (id,
    fingerprint, public key, envelope), or a clear error."""
    with runtime.engine.connect() as connection:
        user_id, username = find_user(connection, name)
        row = connection.execute(_CURRENT_KEY, {"user_id": user_id}).first()
    if row is None:
        raise PermissionDenied(
            _("{username} has no valid signing key (the key was revoked)").format(
                username=repr(username)
            ),
            hint=_("an admin can issue one: qms key rotate USER --as ADMIN"),
        )
    return username, row


def unlock(runtime: Runtime, username: str, passphrase: str) -> Signer:
    """Unlock ``username``'s current signing key (the name in any letter case: the signer
    carries it as stored); without it, they cannot act."""
    username, row = _sealed_key(runtime, username)
    private_key = open_envelope(row.envelope, row.fingerprint, passphrase, username)
    return Signer(username, row.fingerprint, private_key)


def sealed_office_key(runtime: Runtime, office: OfficeRef) -> Any:
    """The office's current key row (id, fingerprint, public key, envelope), or a clear error."""
    with runtime.engine.connect() as connection:
        row = connection.execute(_SEALED.where(KEY_TABLE.c.office_id == office.id)).first()
    if row is None:
        raise PermissionDenied(_("office {code} has no valid office key").format(code=office.code))
    return row


def change_passphrase(
    runtime: Runtime, *, username: str, passphrase: str, new_passphrase: str
) -> str:
    """Seal ``username``'s current key under a new passphrase; returns the key's fingerprint.

    Only the holder can, by giving the current passphrase; a key an admin issued is refused
    (whoever issued it knows it: the user takes a key of their own with :func:`rotate`).
    """
    username, row = _sealed_key(runtime, username)
    private_key = open_envelope(row.envelope, row.fingerprint, passphrase, username)
    with runtime.engine.connect() as connection:
        own = connection.execute(
            select(KEY_REGISTRATION_TABLE.c.fingerprint).where(
                KEY_REGISTRATION_TABLE.c.fingerprint == row.fingerprint,
                KEY_REGISTRATION_TABLE.c.own.is_(True),
            )
        ).first()
    if own is None:
        raise PermissionDenied(
            _(
                "{username}'s signing key was issued by an admin, who knows its "
                "passphrase: a new passphrase would not make it yours"
            ).format(username=username),
            hint=_("choose a key of your own: qms key rotate {username} --as {username}").format(
                username=username
            ),
        )
    return _reseal(runtime, row, private_key, passphrase, new_passphrase, f"{username}'s")


def change_office_passphrase(
    runtime: Runtime, office: OfficeRef, *, actor: Signer, passphrase: str, new_passphrase: str
) -> str:
    """An admin of ``office`` seals the office key under a new passphrase, given the current
    one (e.g. when someone who knew it leaves); returns the key's fingerprint.

    Its public half, and so every checkpoint, stays the same; no event is written, for the
    reason a user's change writes none.  The role is checked before the office key is tried,
    so the command tells nobody else whether a guessed office passphrase is right.
    """
    with runtime.engine.connect() as connection:
        person = load_actor(connection, actor, office)
    require_role(person, {roles.ADMIN}, office, _("change the office key's passphrase"))
    row = sealed_office_key(runtime, office)
    owner = f"office {office.code}"
    private_key = open_envelope(row.envelope, row.fingerprint, passphrase, owner)
    return _reseal(runtime, row, private_key, passphrase, new_passphrase, f"{owner}'s")


def _reseal(
    runtime: Runtime,
    row: Any,
    private_key: Ed25519PrivateKey,
    passphrase: str,
    new_passphrase: str,
    whose: str,
) -> str:
    """Store the opened key of ``row`` sealed under ``new_passphrase`` (by the rules, and not
    the current ``passphrase``); returns its fingerprint.

    Atomic: the row takes the new envelope only if it still holds the one that was opened, so
    the key opens with the old passphrase or the new one, never with neither.
    """
    check_passphrase(new_passphrase, "the new passphrase")
    if normal(new_passphrase) == normal(passphrase):
        raise InvalidInput(_("the new passphrase is the same as the current one"))
    envelope = seal(private_key, row.fingerprint, new_passphrase)
    with write_transaction(runtime.engine) as connection:
        changed = connection.execute(
            update(KEY_TABLE)
            .where(
                KEY_TABLE.c.id == row.id,
                KEY_TABLE.c.envelope == row.envelope,
                KEY_TABLE.c.valid_until.is_(None),
            )
            .values(envelope=envelope)
        ).rowcount
    if changed != 1:
        raise RuleViolation(
            _(
                "{whose} signing key changed meanwhile (rotated, revoked or "
                "given another passphrase); nothing was written"
            ).format(whose=whose),
            hint=_("try again with the passphrase that opens it now"),
        )
    return str(row.fingerprint)


def offices_of(work: UnitOfWork, user_id: int, also: OfficeRef) -> list[OfficeRef]:
    """The offices whose chains know the user — where they hold a role, or where any key of
    theirs was ever registered — and ``also``, in a fixed order (all locked).  A key's end or
    the user's deactivation must reach every one of them, or a chain that still knows the key
    would go on accepting it."""
    known_keys = select(KEY_REGISTRATION_TABLE.c.office_id).join(
        KEY_TABLE, KEY_TABLE.c.fingerprint == KEY_REGISTRATION_TABLE.c.fingerprint
    )
    rows = work.connection.execute(
        select(OFFICE_TABLE)
        .where(
            OFFICE_TABLE.c.id.in_(
                select(ROLE_TABLE.c.office_id).where(ROLE_TABLE.c.user_id == user_id)
            )
            | OFFICE_TABLE.c.id.in_(known_keys.where(KEY_TABLE.c.user_id == user_id))
            | (OFFICE_TABLE.c.id == also.id)
        )
        .order_by(OFFICE_TABLE.c.id)  # one locking order for every writer: no deadlocks
    ).all()
    offices = [OfficeRef(r.id, r.code, r.name, r.office_type, r.timezone) for r in rows]
    for each in offices:
        work.lock(each)
    return offices


def _end_key(
    work: UnitOfWork,
    offices: list[OfficeRef],
    by: dict[int, Actor],
    username: str,
    key: Any,
    reason: str | None,
    role: str,
) -> None:
    """Close a key and record that in every office its owner works in."""
    work.connection.execute(
        update(KEY_TABLE)
        .where(KEY_TABLE.c.id == key.id)
        .values(valid_until=utc_now(), revoked_reason=reason)
    )
    kind = events.KEY_REVOKED if reason else events.KEY_RETIRED
    payload = {"owner": username, "fingerprint": key.fingerprint}
    if reason:
        payload["reason"] = reason
    for each in offices:
        work.append(each, by[each.id], kind, username, payload, role=role)


def _target(work: UnitOfWork, office: OfficeRef, name: str) -> tuple[int, str, list[OfficeRef]]:
    """The user's id, stored name, and the offices whose chains must hear about their key (all
    locked)."""
    user_id, username = find_user(work.connection, name)
    return user_id, username, offices_of(work, user_id, office)


def admin_everywhere(
    work: UnitOfWork, signer: Signer, offices: list[OfficeRef], doing: str
) -> dict[int, Actor]:
    """The acting admin in each of ``offices``: an admin acts only in offices where they hold
    ``admin`` (each chain verifies on its own, so each event needs its own authority there)."""
    return {
        each.id: _holding(load_actor(work.connection, signer, each), roles.ADMIN, each, doing)
        for each in offices
    }


def _holding(actor: Actor, role: str, office: OfficeRef, doing: str) -> Actor:
    require_role(actor, {role}, office, doing)
    return actor


def rotate(
    runtime: Runtime, office: OfficeRef, *, actor: Signer, username: str, new_passphrase: str
) -> str:
    """Replace a user's key: by the user, or by an admin (e.g. after a forgotten passphrase)."""
    key = generate_key(new_passphrase)
    with runtime.unit_of_work() as work:
        work.lock(office)
        user_id, username, offices = _target(work, office, username)
        own_change = username == actor.username
        load_actor(work.connection, actor, office, own_key_change=own_change)
        if own_change:
            role = roles.KEY_HOLDER
            by = {
                each.id: load_actor(work.connection, actor, each, own_key_change=True)
                for each in offices
            }
        else:
            role = roles.ADMIN
            by = admin_everywhere(work, actor, offices, f"rotate {username}'s key")
        old = current_key(work, user_id)
        # The new key is registered while the old one is still valid (it may sign this very
        # event, when users rotate their own key); only then is the old one retired.
        first, *others = offices
        register_key(
            work, first, by=by[first.id], owner=username, user_id=user_id, key=key, role=role
        )
        for each in others:
            _announce(
                work,
                each,
                by=by[each.id],
                owner=username,
                fingerprint=key.fingerprint,
                public_key=key.public_key.hex(),
                purpose="user",
                role=role,
            )
        if old is not None:
            _end_key(work, offices, by, username, old, None, role)
    return key.fingerprint


def revoke(
    runtime: Runtime, office: OfficeRef, *, actor: Signer, username: str, reason: str
) -> None:
    """An admin revokes a user's key at once (lost or compromised); it signs nothing more."""
    if not reason.strip():
        raise RuleViolation(_("give a --reason for revoking a key"))
    with runtime.unit_of_work() as work:
        work.lock(office)
        load_actor(work.connection, actor, office)
        user_id, username, offices = _target(work, office, username)
        by = admin_everywhere(work, actor, offices, f"revoke {username}'s key")
        key = current_key(work, user_id)
        if key is None:
            raise RuleViolation(
                _("{username} has no valid key to revoke").format(username=repr(username))
            )
        _end_key(work, offices, by, username, key, reason, roles.ADMIN)
