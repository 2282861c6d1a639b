"""PostgreSQL: ``pg_dump`` and ``pg_restore`` of the server's own major version, run on the
database the workspace uses, and what makes a database empty.

The tools are looked for on ``$PATH`` and in Debian's ``/usr/lib/postgresql/*/bin``; one whose
major version differs from the server's is refused, naming what was found (a ``pg_dump`` older
than the server cannot dump it, and a mismatched archive is a surprise nobody needs on the day
of a restore).  The password never appears on a command line: it goes in ``PGPASSWORD``.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL, make_url

from qms_engine.errors import ConfigurationError, InvalidInput, QmsError
from qms_engine.i18n import _

TOOL_FOLDERS = "/usr/lib/postgresql/*/bin"
"""Where Debian and Ubuntu install each PostgreSQL version's tools, besides ``$PATH``."""
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")


class ToolFailed(QmsError):
    """``pg_dump`` or ``pg_restore`` ran and failed; its own message says why."""

    exit_code = 1


def server_version(connection: Connection) -> tuple[int, str]:
    """The server's major version and its full version text (``15.8 (Debian …)``)."""
    number = int(connection.exec_driver_sql("SHOW server_version_num").scalar_one())
    text = str(connection.exec_driver_sql("SHOW server_version").scalar_one())
    return number // 10000, text


def tool_folders() -> list[Path]:
    """Where the tools are looked for: ``$PATH``, then each version's folder."""
    on_path = [Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    versioned = sorted(Path("/").glob(TOOL_FOLDERS.lstrip("/")), reverse=True)
    return on_path + versioned


def find_tool(name: str, major: int, folders: Iterable[Path] | None = None) -> Path:
    """The ``name`` (``pg_dump``, ``pg_restore``) of PostgreSQL ``major``, or a clear error."""
    found: dict[Path, int | None] = {}
    for folder in tool_folders() if folders is None else folders:
        path = folder / name
        if path not in found and path.is_file() and os.access(path, os.X_OK):
            found[path] = _major(path)
            if found[path] == major:
                return path
    install = (
        f"install PostgreSQL {major}'s client tools "
        f"(Debian: apt-get install postgresql-client-{major})"
    )
    if not found:
        raise ConfigurationError(
            _("{name} is not installed (looked on $PATH and in {tool_folders})").format(
                name=name, tool_folders=TOOL_FOLDERS
            ),
            hint=install,
        )
    seen = ", ".join(f"{path} (PostgreSQL {version or '?'})" for path, version in found.items())
    raise ConfigurationError(
        _(
            "the database server runs PostgreSQL {major}, and no {name} of "
            "that version was found: {seen}"
        ).format(major=major, name=name, seen=seen),
        hint=install,
    )


def _major(tool: Path) -> int | None:
    try:
        shown = subprocess.run(
            [str(tool), "--version"],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(shown)
    return int(match.group(1)) if match else None


def run_tool(tool: Path, url: str, *arguments: str) -> None:
    """Run ``tool`` on the database at ``url`` (its password in the environment, not in the
    arguments); a failure raises :class:`ToolFailed` with the tool's own last words."""
    parsed = make_url(url)
    address = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    ).render_as_string(hide_password=False)
    environment = dict(os.environ)
    if parsed.password:
        environment["PGPASSWORD"] = str(parsed.password)
    result = subprocess.run(
        [str(tool), *arguments, f"--dbname={address}"],
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
    )
    if result.returncode != 0:
        said = " ".join(result.stderr.strip().splitlines()[-3:]) or "no message"
        raise ToolFailed(f"{tool.name} failed (exit code {result.returncode}): {said}")


# Everything a restore could have made in the public schema (a table, its sequences and
# indexes, a search function, a type …), except what belongs to an extension.
_NOT_FROM_AN_EXTENSION = (
    "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{catalog}'::regclass "
    "AND d.objid = {oid} AND d.deptype = 'e')"
)
_PUBLIC_OBJECTS = f"""
SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
         WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'c' THEN 'TYPE'
         ELSE 'TABLE' END,
       format('%I.%I', n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
   AND {_NOT_FROM_AN_EXTENSION.format(catalog="pg_class", oid="c.oid")}
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
       format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND {_NOT_FROM_AN_EXTENSION.format(catalog="pg_proc", oid="p.oid")}
UNION ALL
SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
       format('%I.%I', n.nspname, t.typname)
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r')
   AND {_NOT_FROM_AN_EXTENSION.format(catalog="pg_type", oid="t.oid")}
UNION ALL
SELECT 'TEXT SEARCH CONFIGURATION', format('%I.%I', n.nspname, s.cfgname)
  FROM pg_ts_config s JOIN pg_namespace n ON n.oid = s.cfgnamespace
 WHERE n.nspname = 'public' AND {_NOT_FROM_AN_EXTENSION.format(catalog="pg_ts_config", oid="s.oid")}
UNION ALL
SELECT 'TEXT SEARCH DICTIONARY', format('%I.%I', n.nspname, s.dictname)
  FROM pg_ts_dict s JOIN pg_namespace n ON n.oid = s.dictnamespace
 WHERE n.nspname = 'public' AND {_NOT_FROM_AN_EXTENSION.format(catalog="pg_ts_dict", oid="s.oid")}
"""


def public_objects(connection: Connection) -> list[tuple[str, str]]:
    """(kind, name) of everything in the public schema that no extension owns."""
    return [(str(kind), str(name)) for kind, name in connection.execute(text(_PUBLIC_OBJECTS))]


def require_empty(engine: Engine) -> None:
    """Refuse a database that holds anything (a usage error, as a folder that is not empty):
    a restore never writes over a deployment."""
    with engine.connect() as connection:
        found = public_objects(connection)
    if found:
        kind, name = found[0]
        more = f" and {len(found) - 1} more object(s)" if len(found) > 1 else ""
        shown = engine.url.render_as_string(hide_password=True)
        raise InvalidInput(
            _("the database {shown} is not empty: it holds {lower} {name}{more}").format(
                shown=shown, lower=kind.lower(), name=name, more=more
            ),
            hint=_("restore into a new, empty database (createdb NAME) and give its URL"),
        )


def empty_database(engine: Engine) -> None:
    """Drop everything :func:`public_objects` lists: undoes a restore into an empty database."""
    with engine.begin() as connection:
        for kind, name in public_objects(connection):
            # text() escapes the driver's % placeholders; a colon in a name is no bind parameter
            statement = f"DROP {kind} IF EXISTS {name} CASCADE".replace(":", "\\:")
            connection.execute(text(statement))
