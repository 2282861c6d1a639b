"""`qms init`, `qms db …`, `qms office …`: workspaces, schema and offices."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from qms_engine.cli.context import (
    AppContext,
    Passphrase,
    as_meaning,
    console,
    json_option,
    new_passphrase_option,
    office_passphrase_option,
    pass_app,
    print_json,
    print_table,
    signer_option,
)
from qms_engine.clock import DEFAULT_TIMEZONE
from qms_engine.i18n import LANGUAGES, N_, _, set_language

if TYPE_CHECKING:
    from qms_engine.chain.signing import Signer
    from qms_engine.chain.unit_of_work import OfficeRef, UnitOfWork


@click.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--office-type", required=True, help="Office type from a plugin, e.g. police_station."
)
@click.option("--office-code", required=True, help="Short unique code, e.g. PS-KOT39.")
@click.option("--office-name", required=True, help="Name as written, e.g. 'कोतवाली सेक्टर 39'.")
@click.option("--timezone", default=DEFAULT_TIMEZONE, show_default=True, help="Office time zone.")
@click.option("--admin", default="admin", show_default=True, help="User name of the first admin.")
@click.option("--admin-name", default="Administrator", show_default=True, help="Their full name.")
@click.option(
    "--database-url",
    envvar="QMS_DATABASE_URL",
    help="Database (default: SQLite inside the workspace; or $QMS_DATABASE_URL).",
)
@new_passphrase_option(
    "--admin-passphrase-file", "QMS_ADMIN_PASSPHRASE", N_("the admin's key"), "admin_passphrase"
)
@new_passphrase_option(
    "--office-passphrase-file", "QMS_OFFICE_PASSPHRASE", N_("the office key"), "office_passphrase"
)
@click.option(
    "--lang",
    "language",
    type=click.Choice(sorted(LANGUAGES)),
    help="The office's language, written to qms.toml ([office] language): en or hi.",
)
def init(
    path: Path,
    office_type: str,
    office_code: str,
    office_name: str,
    timezone: str,
    admin: str,
    admin_name: str,
    database_url: str | None,
    admin_passphrase: str,
    office_passphrase: str,
    language: str | None,
) -> None:
    """Create a workspace at PATH: qms.toml, database, blob store, inbox folders, keys.

    The admin's and the office's signing keys are sealed with passphrases typed at the
    prompt (or read from the --…-passphrase-file options or $QMS_ADMIN_PASSPHRASE and
    $QMS_OFFICE_PASSPHRASE); the passphrases themselves are never stored.
    """
    from qms_engine.extension.manager import load_plugins
    from qms_engine.people.bootstrap import init_workspace

    if language is not None:
        set_language(language)
    result = init_workspace(
        path,
        plugins=load_plugins(),
        office_type=office_type,
        office_code=office_code,
        office_name=office_name,
        admin=admin,
        admin_name=admin_name,
        admin_passphrase=admin_passphrase,
        office_passphrase=office_passphrase,
        timezone=timezone,
        database_url=database_url,
        language=language,
    )
    console().print(_("Created workspace {root}").format(root=result.workspace.root))
    office = result.office
    console().print(
        _("  office   {code} — {name} ({office_type})").format(
            code=office.code, name=office.name, office_type=office_type
        )
    )
    console().print(_("  admin    {admin}").format(admin=admin))
    for folder in result.inbox_folders:
        console().print(_("  inbox    {folder}").format(folder=folder))


@click.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: AppContext) -> None:
    """Bring an older workspace's database up to date (back it up first)."""
    from qms_engine.storage.database import create_db_engine, upgrade

    workspace = app.workspace()
    engine = create_db_engine(workspace.database_url)
    try:
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    if before == after:
        console().print(_("Database already at the newest schema ({after}).").format(after=after))
    else:
        console().print(
            _("Database upgraded from {before} to {after}.").format(
                before=before or _("empty"), after=after
            )
        )


@click.group()
def office() -> None:
    """Offices in this deployment."""


@office.command("list")
@json_option
@pass_app
def office_list(app: AppContext, as_json: bool) -> None:
    """List every office."""
    from qms_engine.people.offices import list_offices

    offices = list_offices(app.runtime)
    if as_json:
        print_json([o.model_dump() for o in offices])
        return
    print_table(
        _("Offices"),
        [_("Code"), _("Name"), _("Type"), _("Time zone")],
        [(o.code, o.name, o.office_type, o.timezone) for o in offices],
    )


@office.command("add")
@click.argument("code")
@click.option("--type", "office_type", required=True, help="Office type, e.g. police_station.")
@click.option("--name", required=True, help="Office name as written.")
@click.option("--timezone", default=DEFAULT_TIMEZONE, show_default=True, help="Office time zone.")
@click.option(
    "--district",
    metavar="SP-CODE",
    help="Make the new office a station of this district (SP office); you must be its admin.",
)
@new_passphrase_option(
    "--office-passphrase-file",
    "QMS_OFFICE_PASSPHRASE",
    N_("the new office's key"),
    "office_passphrase",
)
@signer_option
@pass_app
def office_add(
    app: AppContext,
    code: str,
    office_type: str,
    name: str,
    timezone: str,
    district: str | None,
    office_passphrase: str,
    signer: Signer,
) -> None:
    """Add office CODE to this deployment; you (an admin here) become its first admin.

    It gets its own inbox folders (inbox/CODE/<REGISTER>/), and the inbox service users of
    this office are enrolled there with the same roles, so `qms watch` serves it too once
    each has chosen its own key there (qms key rotate ingest --as ingest) and the watcher has
    been restarted.
    """
    from qms_engine.district.stations import join_in
    from qms_engine.people.offices import add_office

    runtime = app.runtime
    sp = runtime.office(district) if district else None

    def join(work: UnitOfWork, office: OfficeRef) -> object:
        assert sp is not None  # given only with --district
        return join_in(work, runtime, sp, actor=signer, station=office)

    told: list[str] = []
    office = add_office(
        app.runtime,
        actor=signer,
        from_office=app.office(),
        code=code,
        name=name,
        office_type=office_type,
        office_passphrase=office_passphrase,
        timezone=timezone,
        say=told.append,
        also=join if sp is not None else None,
    )
    console().print(
        _("Added office {code} — {name}; use --office {code}").format(
            code=office.code, name=office.name
        )
    )
    for line in told:
        console().print(f"  {line}")
    if sp is not None:
        console().print(
            _("  {code} is a station of {district}").format(code=office.code, district=sp.code)
        )


@office.command("passphrase")
@as_meaning(
    signer_option,
    "Which admin of the office acts (default: $QMS_USER), proved by their own key; nothing "
    "is signed.",
)
@office_passphrase_option
@new_passphrase_option("--new-passphrase-file", "QMS_NEW_PASSPHRASE", N_("the office key"))
@pass_app
def office_passphrase(
    app: AppContext, signer: Signer, office_passphrase: Passphrase, new_passphrase: str
) -> None:
    """Change the office key's passphrase (e.g. when someone who knew it leaves); an admin.

    Three passphrases: the admin's own (--passphrase-file or $QMS_PASSPHRASE), the office
    key's current one (--office-passphrase-file or $QMS_OFFICE_PASSPHRASE) and its new one
    (--new-passphrase-file or $QMS_NEW_PASSPHRASE).  Rules for the new one as for a user's
    (see `qms key passphrase --help`).  The office key stays the same, so every checkpoint
    still verifies; nothing is written to the audit trail.  It opens with the old passphrase
    or the new one, never neither; an older copy (a backup) still opens with the old one.
    """
    from qms_engine.people.keys import change_office_passphrase

    office = app.office()
    with office_passphrase.blamed():
        fingerprint = change_office_passphrase(
            app.runtime,
            office,
            actor=signer,
            passphrase=office_passphrase.text,
            new_passphrase=new_passphrase,
        )
    console().print(
        _("Office {code}'s key {fingerprint}… now opens with the new passphrase.").format(
            code=office.code, fingerprint=fingerprint[:16]
        )
    )


COMMANDS = [init, db, office]
