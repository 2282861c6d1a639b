"""district

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 05:30:00

Issue 13: the tables of district, each a projection of its events.
"""

from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
