"""Alembic environment: runs on the connection the engine hands over (see database.upgrade)."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

from qms_engine.storage.models import is_model_table  # and registers the models' tables

target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Autogenerate compares the models' tables only: the search index has no model."""
    return type_ != "table" or name is None or is_model_table(name)


if connection is None:  # run from the alembic command line by a developer
    url = os.environ.get("QMS_DATABASE_URL", "sqlite:///qms.sqlite3")
    with create_engine(url).begin() as own_connection:
        context.configure(
            connection=own_connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_name=include_name,
        )
        context.run_migrations()
else:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        include_name=include_name,
    )
    context.run_migrations()
