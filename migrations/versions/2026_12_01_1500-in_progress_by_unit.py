"""A unit's dossiers in progress, soonest due first: what a unit's guidance (its forecast and its
dossiers due soon) reads, without walking the unit's finished history.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_dossiers_unit_in_progress_due",
        "dossiers",
        ["unit_code", "effective_due_at"],
        postgresql_where=sa.text("outcome IN ('IN_PROGRESS', 'IN_PROGRESS_OVERDUE')"),
    )


def downgrade() -> None:
    op.drop_index("ix_dossiers_unit_in_progress_due", table_name="dossiers")
