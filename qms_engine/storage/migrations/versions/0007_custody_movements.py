"""custody movements

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 05:30:00

Issue 13: the tables of custody movements, each a projection of its events.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "custody_movement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("from_place", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("to_place", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("received_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("seal_intact", sa.Boolean(), nullable=False),
        sa.Column("expected_back", sa.String(length=10), nullable=True),
        sa.Column("order_ref", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("moved_by", sa.Integer(), nullable=False),
        sa.Column("moved_at", sa.String(length=27), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["document.id"], name=op.f("fk_custody_movement_document_id_document")
        ),
        sa.ForeignKeyConstraint(
            ["moved_by"], ["app_user.id"], name=op.f("fk_custody_movement_moved_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name=op.f("fk_custody_movement_office_id_office")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_movement")),
        sa.UniqueConstraint(
            "office_id", "event_seq", name=op.f("uq_custody_movement_office_id_event_seq")
        ),
    )
    with op.batch_alter_table("custody_movement", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_custody_movement_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_custody_movement_office_id"), ["office_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("custody_movement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custody_movement_office_id"))
        batch_op.drop_index(batch_op.f("ix_custody_movement_document_id"))
    op.drop_table("custody_movement")
