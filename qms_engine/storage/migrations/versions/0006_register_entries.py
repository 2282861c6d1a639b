"""register entries

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 05:30:00

Issue 13: the tables of register entries, each a projection of its events: a register record's
period, its place in a day book and the entry it corrects (``document.created``).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_entry",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("day", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("entry", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["corrects_id"], ["document.id"], name=op.f("fk_register_entry_corrects_id_document")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["document.id"], name=op.f("fk_register_entry_document_id_document")
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_register_entry")),
    )
    with op.batch_alter_table("register_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_register_entry_corrects_id"), ["corrects_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("register_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_register_entry_corrects_id"))
    op.drop_table("register_entry")
