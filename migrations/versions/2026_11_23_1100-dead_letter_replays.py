"""dead letters: how often each was replayed, and when last

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "dead_letters", sa.Column("replays", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "dead_letters", sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("dead_letters", "replayed_at")
    op.drop_column("dead_letters", "replays")
