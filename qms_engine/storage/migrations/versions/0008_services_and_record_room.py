"""services and record room

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 05:30:00

Issue 13: the tables of services and record room, each a projection of its events: citizens'
applications for charter services (service.application.*), records deposited in the record
room (record_room.record.deposited, weeded by record_room.records.weeded) and disposal lists
(record_room.disposal.*).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TEXT = AutoString


def _office_and_user(table: str, *users: str) -> list[sa.ForeignKeyConstraint]:
    """The foreign keys of a table's office and of its user columns."""
    return [
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name=op.f(f"fk_{table}_office_id_office")
        ),
        *(
            sa.ForeignKeyConstraint(
                [user], ["app_user.id"], name=op.f(f"fk_{table}_{user}_app_user")
            )
            for user in users
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "service_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("number", _TEXT(length=128), nullable=False),
        sa.Column("serial_year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("service", _TEXT(length=32), nullable=False),
        sa.Column("desk", _TEXT(length=32), nullable=False),
        sa.Column("applicant", sa.Text(), nullable=False),
        sa.Column("received", sa.String(length=10), nullable=False),
        sa.Column("due", sa.String(length=10), nullable=False),
        sa.Column("received_by", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.String(length=27), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("decision", _TEXT(length=16), nullable=True),
        sa.Column("disposed_on", sa.String(length=10), nullable=True),
        sa.Column("disposed_by", sa.Integer(), nullable=True),
        sa.Column("disposed_at", sa.String(length=27), nullable=True),
        sa.Column("disposed_seq", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        *_office_and_user("service_application", "received_by", "disposed_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_application")),
        sa.UniqueConstraint("number", name=op.f("uq_service_application_number")),
        sa.UniqueConstraint(
            "office_id",
            "serial_year",
            "serial",
            name=op.f("uq_service_application_office_id_serial_year_serial"),
        ),
    )
    with op.batch_alter_table("service_application", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_application_office_id"), ["office_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_service_application_desk"), ["desk"], unique=False)

    op.create_table(
        "record_room_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("number", _TEXT(length=128), nullable=False),
        sa.Column("record_class", _TEXT(length=32), nullable=False),
        sa.Column("closed_on", sa.String(length=10), nullable=False),
        sa.Column("deposited_by", sa.Integer(), nullable=False),
        sa.Column("deposited_at", sa.String(length=27), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("weeded_on", sa.String(length=10), nullable=True),
        sa.Column("weeded_list", _TEXT(length=128), nullable=True),
        sa.Column("weeded_seq", sa.Integer(), nullable=True),
        *_office_and_user("record_room_record", "deposited_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_room_record")),
        sa.UniqueConstraint(
            "office_id", "number", name=op.f("uq_record_room_record_office_id_number")
        ),
    )
    with op.batch_alter_table("record_room_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_record_room_record_office_id"), ["office_id"], unique=False
        )

    op.create_table(
        "disposal_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("number", _TEXT(length=128), nullable=False),
        sa.Column("serial_year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("records", sa.Text(), nullable=False),
        sa.Column("proposed_by", sa.Integer(), nullable=False),
        sa.Column("proposed_at", sa.String(length=27), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.String(length=27), nullable=True),
        sa.Column("approved_seq", sa.Integer(), nullable=True),
        sa.Column("approval_comment", sa.Text(), nullable=True),
        sa.Column("rejected", sa.Boolean(), nullable=False),
        *_office_and_user("disposal_list", "proposed_by", "approved_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_list")),
        sa.UniqueConstraint("number", name=op.f("uq_disposal_list_number")),
        sa.UniqueConstraint(
            "office_id",
            "serial_year",
            "serial",
            name=op.f("uq_disposal_list_office_id_serial_year_serial"),
        ),
    )
    with op.batch_alter_table("disposal_list", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disposal_list_office_id"), ["office_id"], unique=False)


def downgrade() -> None:
    for table, indexes in (
        ("disposal_list", ("office_id",)),
        ("record_room_record", ("office_id",)),
        ("service_application", ("desk", "office_id")),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in indexes:
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)
