"""index of each office's events by actor

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 01:50:00.000000

`qms log --user` asks for one user's newest events of an office; without this index that
scanned the office's whole chain.  (office_id, actor, seq) answers it in order, newest first.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_event_office_id_actor_seq", "event", ["office_id", "actor", "seq"])


def downgrade() -> None:
    op.drop_index("ix_event_office_id_actor_seq", table_name="event")
