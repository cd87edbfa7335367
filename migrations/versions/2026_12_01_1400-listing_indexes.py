"""The lists behind the numbers read a page by an index: keyset order and open/finished subjects.

Dossiers and feedback are listed in (received_at, key) order, a page after the last key shown:
indexes in that order for a unit and for the province, partial ones over the subjects still
open, and a GiST index of the span from receipt to the last evaluation of the finished ones
(from receipt to the latest status step: those still being processed when a period began are
the spans holding its start). The overdue
list, most overdue first, reads its own order too.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels = None
depends_on = None

OPEN = "next_transition_at IS NOT NULL"
FINISHED = "next_transition_at IS NULL AND received_at IS NOT NULL"
OVERDUE = "outcome IN ('OVERDUE', 'IN_PROGRESS_OVERDUE')"
SPAN = "tstzrange(received_at, greatest(received_at, chiso766_last_step(state)), '[]')"
# The time of the latest status step of a stored dossier or feedback state ({"m": {event_id:
# [status, at]}}, times as UTC ISO strings with their offset, so the cast does not depend on the
# session's time zone: immutable in fact, as an index needs).
LAST_STEP_FUNCTION = """
CREATE FUNCTION chiso766_last_step(state jsonb) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT max((step ->> 1)::timestamptz) FROM jsonb_each(state -> 'm') AS steps(id, step)
$$
"""


def upgrade() -> None:
    op.execute(LAST_STEP_FUNCTION)
    for table, key in (("dossiers", "dossier_code"), ("feedback", "feedback_id")):
        op.drop_index(f"ix_{table}_unit_code_received_at", table_name=table)
        op.create_index(f"ix_{table}_unit_listing", table, ["unit_code", "received_at", key])
        op.create_index(f"ix_{table}_listing", table, ["received_at", key])
        op.create_index(
            f"ix_{table}_unit_open_listing",
            table,
            ["unit_code", "received_at", key],
            postgresql_where=sa.text(OPEN),
        )
        op.create_index(
            f"ix_{table}_open_listing", table, ["received_at", key], postgresql_where=sa.text(OPEN)
        )
        op.create_index(
            f"ix_{table}_finished_span",
            table,
            [sa.text(SPAN)],
            postgresql_using="gist",
            postgresql_where=sa.text(FINISHED),
        )
    op.drop_index("ix_dossiers_overdue", table_name="dossiers")
    op.create_index(
        "ix_dossiers_overdue",
        "dossiers",
        ["unit_code", "effective_due_at", "dossier_code"],
        postgresql_where=sa.text(OVERDUE),
    )


def downgrade() -> None:
    op.drop_index("ix_dossiers_overdue", table_name="dossiers")
    op.create_index(
        "ix_dossiers_overdue",
        "dossiers",
        ["unit_code", "received_at"],
        postgresql_where=sa.text(OVERDUE),
    )
    for table in ("dossiers", "feedback"):
        for suffix in ("finished_span", "open_listing", "unit_open_listing", "listing"):
            op.drop_index(f"ix_{table}_{suffix}", table_name=table)
        op.drop_index(f"ix_{table}_unit_listing", table_name=table)
        op.create_index(f"ix_{table}_unit_code_received_at", table, ["unit_code", "received_at"])
    op.execute("DROP FUNCTION chiso766_last_step(jsonb)")
