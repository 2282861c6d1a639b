"""full-text search index

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00.000000

The index is derived data (see qms_engine.search), in each database's own form, so it has no
model: on SQLite an FTS5 table whose rowid is the revision's id, tokenizing as
qms_engine.search.text does (letters, digits and combining marks make a word: Devanagari vowel
signs stay in their word); on PostgreSQL a table with a tsvector column and a GIN index, whose
rows go with their revision's.  It starts empty: `qms search --reindex` fills it for the revisions filed before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE search_index USING fts5(number, title, fields, body, "
            "tokenize = \"unicode61 remove_diacritics 2 categories 'L* N* M*'\")"
        )
        return
    op.create_table(
        "search_index",
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("vector", postgresql.TSVECTOR(), nullable=False),
        sa.ForeignKeyConstraint(  # derived data: it goes with its revision
            ["revision_id"],
            ["revision.id"],
            name=op.f("fk_search_index_revision_id_revision"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("revision_id", name=op.f("pk_search_index")),
    )
    op.create_index("ix_search_index_vector", "search_index", ["vector"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_table("search_index")
