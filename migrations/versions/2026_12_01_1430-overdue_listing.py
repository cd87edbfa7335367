"""2.1's shortfall read among the overdue dossiers, in the lists' order.

Lateness only grows with time, so a dossier late at a period's end is stored as overdue
(`shared.rules.members.among_overdue`): the shortfall's candidates are read from partial indexes
of the overdue, in (received_at, dossier_code) order, for a unit and for the province.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels = None
depends_on = None

OVERDUE = "outcome IN ('OVERDUE', 'IN_PROGRESS_OVERDUE')"


def upgrade() -> None:
    op.create_index(
        "ix_dossiers_unit_overdue_listing",
        "dossiers",
        ["unit_code", "received_at", "dossier_code"],
        postgresql_where=sa.text(OVERDUE),
    )
    op.create_index(
        "ix_dossiers_overdue_listing",
        "dossiers",
        ["received_at", "dossier_code"],
        postgresql_where=sa.text(OVERDUE),
    )


def downgrade() -> None:
    op.drop_index("ix_dossiers_overdue_listing", table_name="dossiers")
    op.drop_index("ix_dossiers_unit_overdue_listing", table_name="dossiers")
