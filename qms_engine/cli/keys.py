"""`qms key …`: signing keys — rotate, revoke, list, and a new passphrase for your own."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from qms_engine.cli.context import (
    AppContext,
    Passphrase,
    actor_passphrase_option,
    as_meaning,
    console,
    json_option,
    new_passphrase_option,
    pass_app,
    print_json,
    print_table,
    signer_option,
    when,
)
from qms_engine.cli.tables import Column
from qms_engine.i18n import N_, _

if TYPE_CHECKING:
    from qms_engine.chain.signing import Signer


@click.group()
def key() -> None:
    """Ed25519 signing keys of users and offices."""


@key.command("rotate")
@click.argument("username")
@new_passphrase_option("--new-passphrase-file", "QMS_NEW_PASSPHRASE", N_("the new key"))
@signer_option
@pass_app
def key_rotate(app: AppContext, username: str, new_passphrase: str, signer: Signer) -> None:
    """Give USERNAME a new key (the old one stops signing). By the user, or an admin.

    A key an admin makes for someone else is temporary: it signs only that user's own next
    rotation (which every new user runs once before signing anything).  To change only your
    passphrase and keep your key, use `qms key passphrase`.
    """
    from qms_engine.people.keys import rotate

    fingerprint = rotate(
        app.runtime, app.office(), actor=signer, username=username, new_passphrase=new_passphrase
    )
    console().print(
        _("{username} now signs with key {fingerprint}…").format(
            username=username, fingerprint=fingerprint[:16]
        )
    )


@key.command("passphrase")
@as_meaning(
    actor_passphrase_option,
    "Whose passphrase changes (default: $QMS_USER): yours, proved by the current one given "
    "with --passphrase-file or $QMS_PASSPHRASE; nothing is signed.",
)
@new_passphrase_option("--new-passphrase-file", "QMS_NEW_PASSPHRASE", N_("your key"))
@pass_app
def key_passphrase(
    app: AppContext, actor: str, passphrase: Passphrase, new_passphrase: str
) -> None:
    """Change your own passphrase; your key, and so every signature, stays the same.

    The current passphrase comes from --passphrase-file or $QMS_PASSPHRASE, the new one from
    --new-passphrase-file or $QMS_NEW_PASSPHRASE (or both are asked for).  Rules for the new
    one: at least 8 characters (a Devanagari letter, vowel sign or virama counts as one), no
    space at either end, not the current one.  It is compared in Unicode NFC form, so the
    same Hindi text typed on another keyboard still opens the key.  The key opens with the old
    passphrase or the new one, never neither.  Nothing is written to the audit trail: the key
    is unchanged.  If someone else may know your passphrase, take a new key instead
    (`qms key rotate USER --as USER`): an older copy of the sealed key, in a backup, still
    opens with the old passphrase.
    """
    from qms_engine.people.keys import change_passphrase

    with passphrase.blamed():
        fingerprint = change_passphrase(
            app.runtime, username=actor, passphrase=passphrase.text, new_passphrase=new_passphrase
        )
    console().print(
        _("{actor}'s key {fingerprint}… now opens with the new passphrase.").format(
            actor=actor, fingerprint=fingerprint[:16]
        )
    )


@key.command("revoke")
@click.argument("username")
@click.option("--reason", required=True, help="Why (lost, compromised …); kept in the trail.")
@signer_option
@pass_app
def key_revoke(app: AppContext, username: str, reason: str, signer: Signer) -> None:
    """Revoke USERNAME's key at once; they cannot act until an admin rotates in a new one."""
    from qms_engine.people.keys import revoke

    revoke(app.runtime, app.office(), actor=signer, username=username, reason=reason)
    console().print(
        _("Revoked {username}'s key: {reason}").format(username=username, reason=reason)
    )


@key.command("list")
@json_option
@pass_app
def key_list(app: AppContext, as_json: bool) -> None:
    """Every registered key with its owner, fingerprint and validity."""
    from sqlalchemy import select

    from qms_engine.clock import as_utc
    from qms_engine.storage.models import KEY_TABLE, OFFICE_TABLE, USER_TABLE

    owner = USER_TABLE.c.username
    with app.runtime.engine.connect() as connection:
        rows = connection.execute(
            select(
                KEY_TABLE.c.fingerprint,
                KEY_TABLE.c.valid_from,
                KEY_TABLE.c.valid_until,
                KEY_TABLE.c.revoked_reason,
                owner,
                OFFICE_TABLE.c.code,
            )
            .outerjoin(USER_TABLE, USER_TABLE.c.id == KEY_TABLE.c.user_id)
            .outerjoin(OFFICE_TABLE, OFFICE_TABLE.c.id == KEY_TABLE.c.office_id)
            .order_by(KEY_TABLE.c.id)
        ).all()
    keys = [
        {
            "owner": r.username or f"office {r.code}",
            "fingerprint": r.fingerprint,
            "valid_from": as_utc(r.valid_from),
            "valid_until": as_utc(r.valid_until) if r.valid_until else None,
            "revoked_reason": r.revoked_reason,
        }
        for r in rows
    ]
    if as_json:
        print_json(keys)
        return
    tz = app.office().timezone
    print_table(
        _("Signing keys"),
        [
            _("Owner"),
            Column(_("Fingerprint"), fold=True),
            _("Valid from"),
            _("Valid until"),
            _("Revoked"),
        ],
        [
            (
                k["owner"],
                k["fingerprint"],
                when(k["valid_from"], tz),
                when(k["valid_until"], tz),
                k["revoked_reason"],
            )
            for k in keys
        ],
    )


COMMANDS = [key]
