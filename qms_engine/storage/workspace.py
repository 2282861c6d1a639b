"""A workspace: a folder with ``qms.toml``, found the way git finds a repository.

Lookup order: ``--workspace``, then ``QMS_WORKSPACE``, then the current folder and its parents.
The database URL comes from ``QMS_DATABASE_URL`` if set, else from ``qms.toml``; a relative
SQLite path is relative to the workspace folder, so a workspace can be moved or copied whole.
The office's language (``[office] language = "hi"``) is the one its messages are shown in
unless ``--lang`` says otherwise.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import NoSuchModuleError

from qms_engine.errors import ConfigurationError
from qms_engine.i18n import DEFAULT_LANGUAGE, LANGUAGES, _

CONFIG_NAME = "qms.toml"
DEFAULT_DATABASE = "sqlite:///qms.sqlite3"
_KEYS = {"office", "database_url", "blob_store", "inbox"}
_OFFICE_KEYS = {"language"}


@dataclass(frozen=True)
class Workspace:
    """Where a deployment's configuration, blobs and inbox live."""

    root: Path
    office_code: str
    database_url: str
    blob_dir: Path
    inbox_dir: Path
    language: str = DEFAULT_LANGUAGE
    """The code of the language the office reads (``[office] language``)."""

    @property
    def config_path(self) -> Path:
        """The ``qms.toml`` file."""
        return self.root / CONFIG_NAME

    @property
    def processed_dir(self) -> Path:
        """Filed originals, each with its receipt: ``processed/<OFFICE>/<FOLDER>/<date>/``."""
        return self.root / "processed"

    @property
    def duplicates_dir(self) -> Path:
        """Copies of records already filed: ``duplicates/<OFFICE>/<FOLDER>/<date>/``."""
        return self.root / "duplicates"

    @property
    def quarantine_dir(self) -> Path:
        """Refused files, each with a note: ``quarantine/<OFFICE>/<FOLDER>/``."""
        return self.root / "quarantine"

    @property
    def ingest_dir(self) -> Path:
        """The ingester's own state: claims in progress and the watchers' locks."""
        return self.root / ".ingest"

    @property
    def claimed_dir(self) -> Path:
        """Files taken from the inbox and being filed: ``.ingest/claimed/<claim id>/``."""
        return self.ingest_dir / "claimed"

    @property
    def logs_dir(self) -> Path:
        """The inbox runs' logs (``logs/ingest.jsonl``)."""
        return self.root / "logs"

    @classmethod
    def find(cls, explicit: Path | None = None, start: Path | None = None) -> Workspace:
        """The workspace named explicitly, by ``QMS_WORKSPACE``, or above ``start``."""
        named = explicit or (
            Path(os.environ["QMS_WORKSPACE"]) if os.environ.get("QMS_WORKSPACE") else None
        )
        if named is not None:
            if not (named / CONFIG_NAME).is_file():
                raise ConfigurationError(
                    _("{named} is not a qms workspace (no {config_name})").format(
                        named=named, config_name=CONFIG_NAME
                    ),
                    hint=_("create one with `qms init PATH --office-type … --office-code …`"),
                )
            return cls.load(named)
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / CONFIG_NAME).is_file():
                return cls.load(folder)
        raise ConfigurationError(
            _("no qms workspace in {here} or any folder above it").format(here=here),
            hint=_(
                "cd into a workspace, pass --workspace PATH, set QMS_WORKSPACE, or run `qms init`"
            ),
        )

    @classmethod
    def load(cls, root: Path) -> Workspace:
        """Read ``root/qms.toml``; errors name the file and the key.

        The inbox, the blob store and a SQLite database must lie inside the workspace folder and
        apart from each other: the watcher moves whatever lies in the inbox, so an inbox that
        held the database, ``qms.toml`` or the blobs would carry them off to quarantine.
        """
        root = root.resolve()
        path = root / CONFIG_NAME
        data = read_config(path)
        table = data.get("workspace")
        if not isinstance(table, dict):
            raise ConfigurationError(_("{path}: missing [workspace] table").format(path=path))
        _only_keys(path, "workspace", table, _KEYS)
        for key in _KEYS:
            if key in table and not isinstance(table[key], str):
                raise ConfigurationError(
                    _("{path}: workspace.{key} must be a string").format(path=path, key=key)
                )
            if "\x00" in table.get(key, ""):  # no path or URL holds one (Path.resolve raises)
                raise ConfigurationError(
                    _("{path}: workspace.{key} holds a NUL character (\\u0000)").format(
                        path=path, key=key
                    )
                )
        if "office" not in table:
            raise ConfigurationError(
                _("{path}: workspace.office (the default office code) is missing").format(path=path)
            )
        language = _language(data, path)
        from_env = bool(os.environ.get("QMS_DATABASE_URL"))
        url_source = "$QMS_DATABASE_URL" if from_env else f"{path}: workspace.database_url"
        url = os.environ.get("QMS_DATABASE_URL") or table.get("database_url", DEFAULT_DATABASE)
        try:
            database_url = resolve_database_url(url, root)
            make_url(database_url).get_dialect()
        except (ConfigurationError, NoSuchModuleError) as exc:
            raise ConfigurationError(
                _("{url_source}: {url} names no known database").format(
                    url_source=url_source, url=repr(url)
                ),
                hint=_("use sqlite:///qms.sqlite3 or postgresql+psycopg://user@host/db"),
            ) from exc
        workspace = cls(
            root=root,
            office_code=table["office"],
            database_url=database_url,
            blob_dir=_folder(
                _inside(root, table.get("blob_store", "blobs"), f"{path}: workspace.blob_store"),
                f"{path}: workspace.blob_store",
            ),
            inbox_dir=_folder(
                _inside(root, table.get("inbox", "inbox"), f"{path}: workspace.inbox"),
                f"{path}: workspace.inbox",
            ),
            language=language,
        )
        places = [
            (f"{path}: workspace.blob_store", workspace.blob_dir),
            (f"{path}: workspace.inbox", workspace.inbox_dir),
        ]
        database = sqlite_path(database_url)
        if database is not None:
            database = database.resolve()
            if not from_env:  # a deployment may keep its database elsewhere, by the variable
                _inside(root, str(database), url_source)
            places.append((url_source, database))
        for n, (name, place) in enumerate(places):
            for other_name, other in places[n + 1 :]:
                if place.is_relative_to(other) or other.is_relative_to(place):
                    raise ConfigurationError(
                        _("{name} ({place}) and {other_name} ({other}) overlap").format(
                            name=name, place=place, other_name=other_name, other=other
                        ),
                        hint=_(
                            "the inbox, the blob store and the database each need a place of "
                            "their own inside the workspace"
                        ),
                    )
        return workspace

    @classmethod
    def write_config(
        cls, root: Path, office_code: str, database_url: str | None, language: str | None = None
    ) -> Workspace:
        """Write a new ``qms.toml`` (refusing to overwrite one) and return the workspace; the
        ``[office]`` table only when a language is given."""
        path = root / CONFIG_NAME
        lines = [
            "# qms-engine workspace. See `qms --help`.",
            "[workspace]",
            f"office = {json.dumps(office_code, ensure_ascii=False)}  # the default office",
            f"database_url = {json.dumps(database_url or DEFAULT_DATABASE)}",
            'blob_store = "blobs"',
            'inbox = "inbox"',
            "",
        ]
        if language is not None:
            lines += ["[office]", f'language = "{language}"  # {LANGUAGES[language]}', ""]
        try:
            with path.open("x", encoding="utf-8") as handle:
                handle.write("\n".join(lines))
        except FileExistsError:
            raise ConfigurationError(
                _("{path} already exists: this folder is a workspace").format(path=path)
            ) from None
        return cls.load(root)


def _only_keys(path: Path, name: str, table: dict[str, Any], allowed: set[str]) -> None:
    """Refuse a key of the ``[name]`` table that qms does not know (a typo would be ignored)."""
    unknown = set(table) - allowed
    if unknown:
        raise ConfigurationError(
            _("{path}: unknown key(s) {unknown} in [{table}] (allowed: {allowed})").format(
                path=path, unknown=sorted(unknown), table=name, allowed=sorted(allowed)
            )
        )


def _language(data: dict[str, Any], path: Path) -> str:
    """The ``[office] language`` of a ``qms.toml`` (English when not set)."""
    table = data.get("office", {})
    if not isinstance(table, dict):
        raise ConfigurationError(_("{path}: office must be a table ([office])").format(path=path))
    _only_keys(path, "office", table, _OFFICE_KEYS)
    language = table.get("language", DEFAULT_LANGUAGE)
    if language not in LANGUAGES:
        known = ", ".join(f'"{code}" ({name})' for code, name in LANGUAGES.items())
        raise ConfigurationError(
            _("{path}: office.language = {language} is not a language qms speaks").format(
                path=path, language=repr(language)
            ),
            hint=_("write one of {known}").format(known=known),
        )
    return str(language)


def read_config(path: Path) -> dict[str, Any]:
    """The tables of a ``qms.toml`` (each part of the engine checks its own: ``[workspace]``
    here, ``[feedback]`` in :mod:`qms_engine.feedback.settings`); errors name the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            _("{path} is not UTF-8 text (byte {start})").format(path=path, start=exc.start),
            hint=_("save it as UTF-8"),
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc
    except RecursionError:
        raise ConfigurationError(
            _("{path}: nested too deeply to be a qms.toml").format(path=path)
        ) from None
    except OSError as exc:
        raise ConfigurationError(
            _("cannot read {path}: {strerror}").format(path=path, strerror=exc.strerror)
        ) from None


def _inside(root: Path, value: str, where: str) -> Path:
    """``value`` (relative to ``root``) as an absolute path strictly inside ``root``, or an error
    naming ``where`` it was set."""
    place = (root / value).resolve()
    if place == root or not place.is_relative_to(root):
        raise ConfigurationError(
            _("{where} = {value} is not inside the workspace {root}").format(
                where=where, value=repr(value), root=root
            ),
            hint=_(
                "give a path inside the workspace folder, as `qms init` writes "
                'it (blob_store = "blobs", inbox = "inbox", '
                "sqlite:///qms.sqlite3)"
            ),
        )
    return place


def _folder(place: Path, where: str) -> Path:
    """``place``, unless something that is no folder is already there."""
    if place.exists() and not place.is_dir():
        raise ConfigurationError(
            _("{where}: {place} is a file, not a folder").format(where=where, place=place),
            hint=_("name a folder (it is made if missing)"),
        )
    return place


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite database URL; None for another database or an in-memory one."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):
        return None
    return Path(database)


def resolve_database_url(url: str, root: Path) -> str:
    """Make a relative SQLite path absolute against the workspace folder."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigurationError(
            _("database URL {url} is not valid: {exc}").format(url=repr(url), exc=exc)
        ) from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        database = Path(parsed.database or "")
        if not database.is_absolute():
            return parsed.set(database=str(root / database)).render_as_string(hide_password=False)
    return url
