"""The history: every unit's counts in every running period at the end of each local day, the
days each scoring partition has closed, and the restatements of closed days by later events.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "score_history",
        sa.Column("period_key", sa.String(16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("partition", sa.SmallInteger(), nullable=False),
        sa.Column("counts", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_key", "day", "unit_code", "partition", name=op.f("pk_score_history")
        ),
    )
    op.create_table(
        "history_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("partition", sa.SmallInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", "partition", name=op.f("pk_history_days")),
    )
    op.create_table(
        "history_restatements",
        sa.Column("period_key", sa.String(16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("partition", sa.SmallInteger(), nullable=False),
        sa.Column("restated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counts", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_key",
            "day",
            "unit_code",
            "partition",
            "restated_at",
            name=op.f("pk_history_restatements"),
        ),
    )


def downgrade() -> None:
    op.drop_table("history_restatements")
    op.drop_table("history_days")
    op.drop_table("score_history")
