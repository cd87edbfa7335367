"""The finished span ends at the end of processing, not at the latest status step: the column
`last_step_at` (0016) becomes `ended_at`, which scoring writes with each row.

A dossier's result is often returned days after it was completed. Ended at its latest step, the
span of such a dossier still held every instant up to the return, so the GiST index named it
among those "still being processed" when a period began, and the rules then left it out: on a
simulated province, a fifth of the span's matches at a month's start (7,820 for 6,251), and more
than half of the oldest, which the first page of 2.1's list reads first, read and judged for
nothing there and by a range's unsettled dossiers.

Rows written before this migration are filled here from their stored states, by the same rules
as scoring's (`shared.rules.ontime.end_of_processing`, `shared.rules.feedback.end_of_handling`)
written in SQL for the finished ones (the only ones the index holds); the others keep their
latest step, which scoring writes for a subject with no end. `tests/migrations/test_ended_at.py`
holds the two equal.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels = None
depends_on = None

FINISHED = "next_transition_at IS NULL AND received_at IS NOT NULL"
# The state's steps ({"m": {event_id: [status, at]}}) up to its evaluation: a finished row's.
_STEPS = """
FROM jsonb_each(s.state -> 'm') AS steps(id, step)
WHERE (step ->> 1)::timestamptz <= s.evaluated_at
"""
# The earliest step of the highest-priority kind of end (COMPLETED, then RESULT_RETURNED, then
# any of the others).
DOSSIER_END = f"""
SELECT (step ->> 1)::timestamptz {_STEPS}
  AND step ->> 0 IN ('COMPLETED', 'RESULT_RETURNED', 'SUSPENDED', 'REJECTED', 'WITHDRAWN')
ORDER BY CASE step ->> 0 WHEN 'COMPLETED' THEN 0 WHEN 'RESULT_RETURNED' THEN 1 ELSE 2 END,
         (step ->> 1)::timestamptz
LIMIT 1
"""
# The first refusal or publication of the answer.
FEEDBACK_END = (
    f"SELECT min((step ->> 1)::timestamptz) {_STEPS} AND step ->> 0 IN ('REJECTED', 'PUBLISHED')"
)
ENDS = {"dossiers": DOSSIER_END, "feedback": FEEDBACK_END}


def upgrade() -> None:
    for table, end in ENDS.items():
        op.alter_column(table, "last_step_at", new_column_name="ended_at")
        op.execute(
            f"UPDATE {table} AS s SET ended_at = coalesce(({end}), s.ended_at) WHERE {FINISHED}"
        )


def downgrade() -> None:
    for table in ENDS:
        op.alter_column(table, "ended_at", new_column_name="last_step_at")
        op.execute(f"UPDATE {table} SET last_step_at = chiso766_last_step(state)")
