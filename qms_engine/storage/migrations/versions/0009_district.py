"""district

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 05:30:00

Issue 13: a district's (SP office's) stations, each a projection of the SP chain's
district.station.joined / district.bundle.imported events; the events of stations seen through
their audit bundles, exactly as imported; and the checkpoints those bundles listed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TEXT = AutoString


def upgrade() -> None:
    op.create_table(
        "district_station",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("code", _TEXT(length=64), nullable=False),
        sa.Column("name", _TEXT(), nullable=False),
        sa.Column("office_type", _TEXT(length=64), nullable=False),
        sa.Column("timezone", _TEXT(length=64), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("head_hash", _TEXT(length=64), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"], ["office.id"], name=op.f("fk_district_station_district_id_office")
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name=op.f("fk_district_station_office_id_office")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_district_station")),
        sa.UniqueConstraint(
            "district_id", "code", name=op.f("uq_district_station_district_id_code")
        ),
    )
    with op.batch_alter_table("district_station", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_district_station_district_id"), ["district_id"], unique=False
        )
    op.create_table(
        "district_event",
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", _TEXT(length=96), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("hash", _TEXT(length=64), nullable=False),
        sa.Column("signature", _TEXT(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["district_station.id"],
            name=op.f("fk_district_event_station_id_district_station"),
        ),
        sa.PrimaryKeyConstraint("station_id", "seq", name=op.f("pk_district_event")),
    )
    op.create_table(
        "district_checkpoint",
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", _TEXT(length=64), nullable=False),
        sa.Column("recorded_at", _TEXT(length=32), nullable=False),
        sa.Column("key_fingerprint", _TEXT(length=64), nullable=False),
        sa.Column("signature", _TEXT(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["district_station.id"],
            name=op.f("fk_district_checkpoint_station_id_district_station"),
        ),
        sa.PrimaryKeyConstraint("station_id", "seq", name=op.f("pk_district_checkpoint")),
    )


def downgrade() -> None:
    op.drop_table("district_checkpoint")
    op.drop_table("district_event")
    with op.batch_alter_table("district_station", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_district_station_district_id"))
    op.drop_table("district_station")
