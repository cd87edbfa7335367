"""The latest status step of each dossier and feedback kept in a column, `last_step_at`, that
the finished subjects' span index reads instead of the stored state.

The span's GiST index (0010) computed `chiso766_last_step(state)` for every finished row
written: a walk of the state's JSON, and about half of what the thirteen indexes added to a
dossier's write (45,000 rows of a replay inserted: 0.7 s with the primary key alone, 3.0 s with
every index, about 2.1 s with the column).
Scoring knows the time already (the last of the state's status steps) and writes it with the
row. The function stays: this migration fills the column with it.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels = None
depends_on = None

FINISHED = "next_transition_at IS NULL AND received_at IS NOT NULL"
BY_STATE = "tstzrange(received_at, greatest(received_at, chiso766_last_step(state)), '[]')"
BY_COLUMN = "tstzrange(received_at, greatest(received_at, last_step_at), '[]')"
TABLES = ("dossiers", "feedback")


def _span_index(table: str, span: str) -> None:
    op.create_index(
        f"ix_{table}_finished_span",
        table,
        [sa.text(span)],
        postgresql_using="gist",
        postgresql_where=sa.text(FINISHED),
    )


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("last_step_at", sa.DateTime(timezone=True)))
        op.execute(f"UPDATE {table} SET last_step_at = chiso766_last_step(state)")
        op.drop_index(f"ix_{table}_finished_span", table_name=table)
        _span_index(table, BY_COLUMN)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_finished_span", table_name=table)
        _span_index(table, BY_STATE)
        op.drop_column(table, "last_step_at")
