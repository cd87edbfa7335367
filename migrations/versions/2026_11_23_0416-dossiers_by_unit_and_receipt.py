"""dossiers by unit and receipt

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 04:16:13.556822
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_dossiers_unit_code_received_at", "dossiers", ["unit_code", "received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_dossiers_unit_code_received_at", table_name="dossiers")
