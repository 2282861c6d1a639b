"""services and record room

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 05:30:00

Issue 13: the tables of services and record room, each a projection of its events.
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
