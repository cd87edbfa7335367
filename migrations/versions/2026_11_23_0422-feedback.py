"""feedback

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 04:22:29.099415
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("feedback_id", sa.String(length=64), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("state", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_transition_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("feedback_id", name=op.f("pk_feedback")),
    )
    op.create_index(
        "ix_feedback_next_transition_at",
        "feedback",
        ["next_transition_at"],
        unique=False,
        postgresql_where=sa.text("next_transition_at IS NOT NULL"),
    )
    op.create_index(
        "ix_feedback_unit_code_received_at", "feedback", ["unit_code", "received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_feedback_unit_code_received_at", table_name="feedback")
    op.drop_index(
        "ix_feedback_next_transition_at",
        table_name="feedback",
        postgresql_where=sa.text("next_transition_at IS NOT NULL"),
    )
    op.drop_table("feedback")
