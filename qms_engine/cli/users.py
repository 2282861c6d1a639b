"""`qms user …`: people and their roles (changes need an admin, given with --as)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from qms_engine.cli.context import (
    AppContext,
    console,
    json_option,
    new_passphrase_option,
    pass_app,
    print_json,
    print_table,
    signer_option,
)
from qms_engine.cli.tables import Column
from qms_engine.i18n import N_, _

if TYPE_CHECKING:
    from qms_engine.chain.signing import Signer


@click.group()
def user() -> None:
    """Users and their roles in an office."""


@user.command("add")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="Full name, printed beside signatures.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    help="Role in the office (repeatable): author, reviewer, approver, …",
)
@click.option(
    "--service",
    is_flag=True,
    help="A service actor (e.g. the ingester run by `qms watch`), not a person.",
)
@new_passphrase_option("--new-passphrase-file", "QMS_NEW_PASSPHRASE", N_("the new user's key"))
@signer_option
@pass_app
def user_add(
    app: AppContext,
    username: str,
    full_name: str,
    roles: tuple[str, ...],
    service: bool,
    signer: Signer,
    new_passphrase: str,
) -> None:
    """Add USERNAME with roles in the office and a first, temporary signing key.

    The key's passphrase is typed at the prompt (or comes from --new-passphrase-file /
    $QMS_NEW_PASSPHRASE); it is never stored.  Since the admin made this key, it signs nothing
    but the user's own change of key: before acting, the user runs
    `qms key rotate USERNAME --as USERNAME` and chooses a passphrase only they know.
    """
    from qms_engine.people.users import add_user

    office = app.office()
    add_user(
        app.runtime,
        office,
        actor=signer,
        username=username,
        full_name=full_name,
        roles=roles,
        passphrase=new_passphrase,
        kind="service" if service else "person",
    )
    console().print(
        _(
            "Added {username} ({full_name}) in {office}: {roles}\n"
            "Before signing anything, {username} chooses their own key: "
            "qms key rotate {username} --as {username}"
        ).format(
            username=username,
            full_name=full_name,
            office=office.code,
            roles=", ".join(sorted(roles)),
        )
    )


@user.command("grant")
@click.argument("username")
@click.argument("roles", nargs=-1, required=True)
@signer_option
@pass_app
def user_grant(app: AppContext, username: str, roles: tuple[str, ...], signer: Signer) -> None:
    """Grant ROLES to USERNAME in the office."""
    from qms_engine.people.users import grant_roles

    added = grant_roles(app.runtime, app.office(), actor=signer, username=username, roles=roles)
    console().print(_("Granted: {roles}").format(roles=", ".join(added) or _("nothing new")))


@user.command("revoke")
@click.argument("username")
@click.argument("roles", nargs=-1, required=True)
@signer_option
@pass_app
def user_revoke(app: AppContext, username: str, roles: tuple[str, ...], signer: Signer) -> None:
    """Revoke ROLES from USERNAME in the office."""
    from qms_engine.people.users import revoke_roles

    removed = revoke_roles(app.runtime, app.office(), actor=signer, username=username, roles=roles)
    console().print(_("Revoked: {roles}").format(roles=", ".join(removed) or _("nothing held")))


@user.command("deactivate")
@click.argument("username")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@signer_option
@pass_app
def user_deactivate(app: AppContext, username: str, reason: str, signer: Signer) -> None:
    """Deactivate USERNAME: they can no longer act; their history stays."""
    from qms_engine.people.users import deactivate_user

    deactivate_user(app.runtime, app.office(), actor=signer, username=username, reason=reason)
    console().print(_("Deactivated {username}").format(username=username))


@user.command("list")
@json_option
@pass_app
def user_list(app: AppContext, as_json: bool) -> None:
    """List users with their roles in the office."""
    from qms_engine.people.users import list_users

    users = list_users(app.runtime, app.office())
    if as_json:
        print_json(users)
        return
    print_table(
        _("Users"),
        [
            _("User"),
            Column(_("Name"), fold=True),
            _("Kind"),
            _("Active"),
            Column(_("Roles"), fold=True),
        ],
        [
            (u.username, u.full_name, u.kind, _("yes") if u.active else _("no"), ", ".join(u.roles))
            for u in users
        ],
    )


COMMANDS = [user]
