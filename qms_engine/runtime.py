"""Everything a command needs, opened once: database, blob store and the loaded plugins.

The plugins are handed in, loaded by the caller (:func:`qms_engine.extension.manager.load_plugins`):
the CLI, the test fixtures and the demo are where the engine is put together.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, select

from document_store import BlobStore
from qms_engine.chain.unit_of_work import OfficeRef, UnitOfWork, unit_of_work
from qms_engine.errors import NotFound
from qms_engine.i18n import _
from qms_engine.registry.hook_values import CommittedEvent
from qms_engine.registry.plugin_set import PluginSet
from qms_engine.storage.database import check_schema_current, create_db_engine
from qms_engine.storage.models import Office
from qms_engine.storage.workspace import Workspace


@dataclass
class Runtime:
    """An open workspace: the engine's services take this as their first argument."""

    workspace: Workspace
    engine: Engine
    store: BlobStore
    plugins: PluginSet

    @classmethod
    def open(
        cls, workspace: Workspace, plugins: PluginSet, *, check_schema: bool = True
    ) -> Runtime:
        """Open a workspace; refuses a database whose schema is not current."""
        engine = create_db_engine(workspace.database_url)
        if check_schema:
            check_schema_current(engine)
        return cls(workspace, engine, BlobStore(workspace.blob_dir), plugins)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """A write transaction; after it commits, plugins hear about each event."""
        with unit_of_work(self.engine) as work:
            yield work
        for record in work.events:
            committed = CommittedEvent(
                record.office,
                record.seq,
                record.recorded_at,
                record.actor,
                record.action,
                record.subject,
                record.payload,
                record.hash,
            )
            # The event is committed: a listener's failure cannot undo it, nor should it hide
            # the success from the user or keep the other listeners uninformed.
            self.plugins.notify("qms_event_committed", event=committed)

    def office(self, code: str | None = None) -> OfficeRef:
        """The office ``code`` (default: the workspace's office)."""
        code = code or self.workspace.office_code
        with Session(self.engine) as session:
            office = session.exec(select(Office).where(Office.code == code)).first()
        if office is None or office.id is None:
            raise NotFound(
                _("no office {code} in this deployment").format(code=repr(code)),
                hint=_("see `qms office list`"),
            )
        return OfficeRef(office.id, office.code, office.name, office.office_type, office.timezone)
