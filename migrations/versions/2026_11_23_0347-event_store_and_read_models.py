"""event store and read models

Revision ID: 0001
Revises:
Create Date: 2026-11-23 03:47:43.483355
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=True),
        sa.Column(
            "dead_lettered_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_table(
        "dossiers",
        sa.Column("dossier_code", sa.String(length=64), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=True),
        sa.Column("procedure_code", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("overdue_reason", sa.String(length=32), nullable=True),
        sa.Column("effective_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clock_stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_transition_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("dossier_code", name=op.f("pk_dossiers")),
    )
    op.create_index(
        "ix_dossiers_next_transition_at",
        "dossiers",
        ["next_transition_at"],
        unique=False,
        postgresql_where=sa.text("next_transition_at IS NOT NULL"),
    )
    op.create_index(
        "ix_dossiers_overdue",
        "dossiers",
        ["unit_code", "received_at"],
        unique=False,
        postgresql_where=sa.text("outcome IN ('OVERDUE', 'IN_PROGRESS_OVERDUE')"),
    )
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("payload_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("source_topic", sa.String(length=255), nullable=False),
        sa.Column("source_partition", sa.Integer(), nullable=False),
        sa.Column("source_offset", sa.BigInteger(), nullable=False),
        sa.Column(
            "stored_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_events_event_id")),
    )
    op.create_index("ix_events_subject", "events", ["subject"], unique=False)
    op.create_table(
        "indicator_counts",
        sa.Column("period_key", sa.String(length=16), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("indicator_id", sa.String(length=8), nullable=False),
        sa.Column("numerator", sa.BigInteger(), nullable=False),
        sa.Column("denominator", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_key", "unit_code", "indicator_id", name=op.f("pk_indicator_counts")
        ),
    )
    op.create_table(
        "ingest_counts",
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("offered", sa.BigInteger(), nullable=False),
        sa.Column("stored", sa.BigInteger(), nullable=False),
        sa.Column("dead_lettered", sa.BigInteger(), nullable=False),
        sa.Column("duplicates", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("topic", name=op.f("pk_ingest_counts")),
    )
    op.create_table(
        "ingest_offsets",
        sa.Column("consumer_group", sa.String(length=255), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "consumer_group", "topic", "partition", name=op.f("pk_ingest_offsets")
        ),
    )
    op.create_table(
        "period_versions",
        sa.Column("period_key", sa.String(length=16), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("period_key", name=op.f("pk_period_versions")),
    )
    op.create_table(
        "scoring_position",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("events_applied", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scoring_position")),
    )
    op.create_table(
        "units",
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("parent_code", sa.String(length=64), nullable=True),
        sa.Column("stamp", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("unit_code", name=op.f("pk_units")),
    )
    op.create_index("ix_units_level", "units", ["level"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_units_level", table_name="units")
    op.drop_table("units")
    op.drop_table("scoring_position")
    op.drop_table("period_versions")
    op.drop_table("ingest_offsets")
    op.drop_table("ingest_counts")
    op.drop_table("indicator_counts")
    op.drop_index("ix_events_subject", table_name="events")
    op.drop_table("events")
    op.drop_index(
        "ix_dossiers_overdue",
        table_name="dossiers",
        postgresql_where=sa.text("outcome IN ('OVERDUE', 'IN_PROGRESS_OVERDUE')"),
    )
    op.drop_index(
        "ix_dossiers_next_transition_at",
        table_name="dossiers",
        postgresql_where=sa.text("next_transition_at IS NOT NULL"),
    )
    op.drop_table("dossiers")
    op.drop_table("dead_letters")
