"""Database plumbing: engines, durable SQLite settings, write transactions and migrations.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL`` so an event is on disk
when a command returns.  Write transactions start with ``BEGIN IMMEDIATE`` so two writers of one
office queue on the database lock instead of failing half-way; on PostgreSQL the chain-head row
lock (``SELECT … FOR UPDATE``) does the same per office.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Dialect, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from qms_engine.errors import ConfigurationError
from qms_engine.i18n import _

if TYPE_CHECKING:
    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE_OPTION = "qms_write"


def _configure_sqlite(engine: Engine) -> None:
    # These statements run on the driver, outside SQLAlchemy's own error handling: a driver
    # error (``database is locked`` after the busy timeout) is wrapped as SQLAlchemy wraps its
    # own, so callers and the CLI (exit code 7) see one kind of database error.

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own handling is lazy).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        statement = ""
        try:
            for statement in (
                f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}",
                "PRAGMA journal_mode = WAL",
                "PRAGMA synchronous = FULL",
                "PRAGMA foreign_keys = ON",
            ):
                cursor.execute(statement)
        except sqlite3.Error as exc:
            raise OperationalError(statement, None, exc) from exc
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get(_WRITE_OPTION, False)
        statement = "BEGIN IMMEDIATE" if writing else "BEGIN"
        # Straight on the driver: this runs before every command, on the hot path.
        try:
            connection.connection.driver_connection.execute(statement)  # type: ignore[union-attr]
        except sqlite3.Error as exc:
            raise OperationalError(statement, None, exc) from exc


def _sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def create_db_engine(url: str, *, create: bool = False) -> Engine:
    """An engine for ``url`` with the engine's durability settings applied.

    A SQLite file must exist unless ``create`` (``qms init``, a fresh test database): a
    mistyped path must not leave an empty database behind.  A driver that is not installed
    is a configuration error saying what to install.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            _("database URL {url} is not valid").format(url=repr(url)),
            hint=_("use sqlite:///path/to/qms.sqlite3 or postgresql+psycopg://user@host/db"),
        ) from exc
    shown = parsed.render_as_string(hide_password=True)
    try:
        if parsed.get_backend_name() == "sqlite":
            database = _sqlite_file(parsed)
            if database is not None and not create and not database.is_file():
                raise ConfigurationError(
                    _("the SQLite database {database} does not exist").format(database=database),
                    hint=_(
                        "check database_url in qms.toml or $QMS_DATABASE_URL; `qms init` "
                        "creates a new workspace"
                    ),
                )
            engine = create_engine(parsed)
            _configure_sqlite(engine)
            return engine
        return create_engine(parsed, pool_pre_ping=True)
    except NoSuchModuleError as exc:
        raise ConfigurationError(
            _("database URL {shown} names an unknown database or driver").format(shown=repr(shown)),
            hint=_("use sqlite:///path/to/qms.sqlite3 or postgresql+psycopg://user@host/db"),
        ) from exc
    except ImportError as exc:
        postgres = parsed.get_backend_name() == "postgresql"
        raise ConfigurationError(
            _(
                "database URL {shown} needs the Python driver {value}, which is not installed"
            ).format(shown=repr(shown), value=repr(exc.name or parsed.drivername)),
            hint=_(
                "pip install 'qms-engine[postgres]' (the psycopg driver), and "
                "use a postgresql+psycopg://… URL"
            )
            if postgres
            else _("install that driver"),
        ) from exc


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside one write transaction: committed on success, rolled back on error."""
    with (
        engine.connect().execution_options(**{_WRITE_OPTION: True}) as connection,
        connection.begin(),
    ):
        yield connection


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection inside one read-only transaction that sees a single snapshot.

    Everything read through it (a chain head, its events, keys, checkpoints) is as of its first
    read, whatever other connections commit meanwhile, so a reader never sees half of a
    concurrent write.  PostgreSQL: ``REPEATABLE READ, READ ONLY``.  SQLite: ``BEGIN`` (deferred),
    whose first read holds a WAL snapshot until the transaction ends; writers carry on.  Rolled
    back at the end.  Results may be streamed (``yield_per``) inside it.
    """
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with connection.begin() as transaction:
            yield connection
            transaction.rollback()


# Alembic (and Mako, which it loads) is imported by the migration functions only: most engine
# code never migrates, and it costs start-up time.


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "qms_engine.storage:migrations")
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest migration; returns (revision before, revision after)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.begin() as connection:
            before = MigrationContext.configure(connection).get_current_revision()
            command.upgrade(_alembic_config(connection), "head")
            after = MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise ConfigurationError(
            _("cannot open the database: {orig}").format(orig=exc.orig)
        ) from exc
    return before, after or ""


def check_schema_current(engine: Engine) -> None:
    """Refuse to work on a database whose schema is older or newer than this code."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        head = ScriptDirectory.from_config(_alembic_config(connection)).get_current_head()
    if current != head:
        raise ConfigurationError(
            _("the database schema is at {value}, this qms-engine needs {head}").format(
                value=current or _("nothing"), head=head
            ),
            hint=_("run `qms db upgrade` (after a backup) to bring it up to date"),
        )


class Prepared:
    """A fixed statement, compiled once per dialect and run straight on the DB-API cursor.

    The audited write path runs a handful of statements per command, and SQLAlchemy's
    per-execution work (cache keys, result processing) costs more than the database's own.  So
    those statements are written in Core, compiled once, and executed on the open transaction's
    cursor.  Bind only plain values (str, int, None): timestamps are stored as UTC text for this.
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def _sql(self, dialect: Dialect) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            names = tuple(compiled.positiontup or ()) if dialect.positional else None
            fixed = {name: value for name, value in compiled.params.items() if value is not None}
            found = self._compiled[dialect.name] = (str(compiled), names, fixed)
        return found

    def _execute(self, connection: Connection, params: dict[str, Any]) -> Any:
        sql, names, fixed = self._sql(connection.dialect)
        if fixed:  # values built into the statement, such as a LIMIT
            params = {**fixed, **params}
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        arguments = tuple(params[name] for name in names) if names is not None else params
        try:
            cursor.execute(sql, arguments)
        except connection.dialect.loaded_dbapi.Error as error:
            # Wrapped as SQLAlchemy would (DBAPIError, a dead connection invalidated), so
            # callers and the CLI see one kind of database error whatever the path.
            connection._handle_dbapi_exception(error, sql, arguments, cursor, None)
        return cursor

    def rows(self, connection: Connection, **params: Any) -> list[tuple[Any, ...]]:
        """Every row the statement returns."""
        cursor = self._execute(connection, params)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def run(self, connection: Connection, **params: Any) -> int:
        """Execute for its effect; returns the number of rows affected."""
        cursor = self._execute(connection, params)
        count = int(cursor.rowcount)
        cursor.close()
        return count
