"""nonconformities, corrective actions, internal audits and citizen feedback

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 02:34:15.738245

The tables of issue 12, each a projection of its events: nonconformities and their CAPA steps
and actions (nc.*), internal audits and their checklist items (internal_audit.*), and
citizens' feedback responses (feedback.received) — ratings, time and comment with its salt
(the chain holds only their SHA-256; feedback.comments.erased blanks both), nothing personal.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("responded_at", sa.String(length=27), nullable=False),
        sa.Column("ratings", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("comment_salt", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("erased_at", sa.String(length=27), nullable=True),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("nc_number", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name=op.f("fk_feedback_response_office_id_office")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_response")),
        sa.UniqueConstraint(
            "office_id", "response_id", name=op.f("uq_feedback_response_office_id_response_id")
        ),
    )
    with op.batch_alter_table("feedback_response", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_response_office_id"), ["office_id"], unique=False
        )

    op.create_table(
        "internal_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("serial_year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("audit_date", sa.String(length=10), nullable=False),
        sa.Column("auditors", sa.Text(), nullable=False),
        sa.Column("planned_by", sa.Integer(), nullable=False),
        sa.Column("planned_at", sa.String(length=27), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name=op.f("fk_internal_audit_office_id_office")
        ),
        sa.ForeignKeyConstraint(
            ["planned_by"], ["app_user.id"], name=op.f("fk_internal_audit_planned_by_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_internal_audit")),
        sa.UniqueConstraint("number", name=op.f("uq_internal_audit_number")),
        sa.UniqueConstraint(
            "office_id",
            "serial_year",
            "serial",
            name=op.f("uq_internal_audit_office_id_serial_year_serial"),
        ),
    )
    with op.batch_alter_table("internal_audit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_internal_audit_office_id"), ["office_id"], unique=False
        )

    op.create_table(
        "nonconformity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("serial_year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("clause", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("links", sa.Text(), nullable=False),
        sa.Column("workflow", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("raised_by", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.String(length=27), nullable=False),
        sa.Column("state_entered_at", sa.String(length=27), nullable=False),
        sa.Column("closed_at", sa.String(length=27), nullable=True),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name=op.f("fk_nonconformity_office_id_office")
        ),
        sa.ForeignKeyConstraint(
            ["raised_by"], ["app_user.id"], name=op.f("fk_nonconformity_raised_by_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nonconformity")),
        sa.UniqueConstraint("number", name=op.f("uq_nonconformity_number")),
        sa.UniqueConstraint(
            "office_id",
            "serial_year",
            "serial",
            name=op.f("uq_nonconformity_office_id_serial_year_serial"),
        ),
    )
    with op.batch_alter_table("nonconformity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nonconformity_office_id"), ["office_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_nonconformity_state"), ["state"], unique=False)

    op.create_table(
        "internal_audit_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("auditor_id", sa.Integer(), nullable=False),
        sa.Column("area_owner_id", sa.Integer(), nullable=True),
        sa.Column("result", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("nc_number", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("recorded_at", sa.String(length=27), nullable=True),
        sa.Column("recorded_seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["area_owner_id"],
            ["app_user.id"],
            name=op.f("fk_internal_audit_item_area_owner_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["internal_audit.id"],
            name=op.f("fk_internal_audit_item_audit_id_internal_audit"),
        ),
        sa.ForeignKeyConstraint(
            ["auditor_id"], ["app_user.id"], name=op.f("fk_internal_audit_item_auditor_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_internal_audit_item")),
        sa.UniqueConstraint("audit_id", "n", name=op.f("uq_internal_audit_item_audit_id_n")),
    )
    with op.batch_alter_table("internal_audit_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_internal_audit_item_audit_id"), ["audit_id"], unique=False
        )

    op.create_table(
        "nc_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nc_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("due", sa.String(length=10), nullable=False),
        sa.Column("document", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("after_revno", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.String(length=27), nullable=False),
        sa.Column("added_seq", sa.Integer(), nullable=False),
        sa.Column("done_at", sa.String(length=27), nullable=True),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.Column("done_comment", sa.Text(), nullable=True),
        sa.Column("done_seq", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"], ["app_user.id"], name=op.f("fk_nc_action_added_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["done_by"], ["app_user.id"], name=op.f("fk_nc_action_done_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["nc_id"], ["nonconformity.id"], name=op.f("fk_nc_action_nc_id_nonconformity")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["app_user.id"], name=op.f("fk_nc_action_owner_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nc_action")),
        sa.UniqueConstraint("nc_id", "n", name=op.f("uq_nc_action_nc_id_n")),
    )
    with op.batch_alter_table("nc_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nc_action_nc_id"), ["nc_id"], unique=False)

    op.create_table(
        "nc_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nc_id", sa.Integer(), nullable=False),
        sa.Column("transition", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["app_user.id"], name=op.f("fk_nc_step_actor_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["nc_id"], ["nonconformity.id"], name=op.f("fk_nc_step_nc_id_nonconformity")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nc_step")),
    )
    with op.batch_alter_table("nc_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nc_step_nc_id"), ["nc_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("nc_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nc_step_nc_id"))

    op.drop_table("nc_step")
    with op.batch_alter_table("nc_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nc_action_nc_id"))

    op.drop_table("nc_action")
    with op.batch_alter_table("internal_audit_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_internal_audit_item_audit_id"))

    op.drop_table("internal_audit_item")
    with op.batch_alter_table("nonconformity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nonconformity_state"))
        batch_op.drop_index(batch_op.f("ix_nonconformity_office_id"))

    op.drop_table("nonconformity")
    with op.batch_alter_table("internal_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_internal_audit_office_id"))

    op.drop_table("internal_audit")
    with op.batch_alter_table("feedback_response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_response_office_id"))

    op.drop_table("feedback_response")
