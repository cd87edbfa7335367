"""catalogue of procedures and publications

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 04:37:34.203740
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "procedures",
        sa.Column("procedure_code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("levels", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("unit_codes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("online_service", sa.String(length=16), nullable=False),
        sa.Column("paper_result_required", sa.Boolean(), nullable=True),
        sa.Column("has_fee", sa.Boolean(), nullable=True),
        sa.Column("max_processing_days", sa.Integer(), nullable=True),
        sa.Column("for_individuals", sa.Boolean(), nullable=True),
        sa.Column("stamp", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("procedure_code", name=op.f("pk_procedures")),
    )
    op.create_table(
        "publications",
        sa.Column("procedure_code", sa.String(length=64), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("legal_effective_date", sa.Date(), nullable=False),
        sa.Column("published_at", sa.Date(), nullable=True),
        sa.Column("components_complete", sa.Boolean(), nullable=True),
        sa.Column("stamp", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("procedure_code", "decision_date", name=op.f("pk_publications")),
    )
    op.create_index(
        "ix_publications_decision_date", "publications", ["decision_date"], unique=False
    )
    op.add_column("units", sa.Column("e_certified_copy", sa.Boolean(), nullable=True))
    op.create_index("ix_dossiers_procedure_code", "dossiers", ["procedure_code"], unique=False)
    # Room for per-procedure activity cells beside the indicators' own counts.
    op.alter_column(
        "indicator_counts",
        "indicator_id",
        existing_type=sa.String(length=8),
        type_=sa.String(length=80),
    )


def downgrade() -> None:
    op.drop_index("ix_dossiers_procedure_code", table_name="dossiers")
    op.execute("DELETE FROM indicator_counts WHERE indicator_id LIKE '%@%'")
    op.alter_column(
        "indicator_counts",
        "indicator_id",
        existing_type=sa.String(length=80),
        type_=sa.String(length=8),
    )
    op.drop_column("units", "e_certified_copy")
    op.drop_index("ix_publications_decision_date", table_name="publications")
    op.drop_table("publications")
    op.drop_table("procedures")
