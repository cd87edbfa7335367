"""What a range ended in the past counts of each dossier still being processed at its end, kept
with the dossier's row: `overdue_from` and `disliked` (`shared.rules.contributions.OnTimeUntil`).

A range's day counts leave out the dossiers not finished by its end (`unsettled_in`): the api read
and judged each of their states, about 7,700 for a week's end on the simulated province, some
350 ms of a month to date's change against the week before. Where the end alone decides them
(no end step of lower priority before the end of processing), they are counted in the database
now; `disliked` is NULL for the others, whose states are still read. Rows written before this
migration are filled here by the rules themselves, from their stored states as of their last
evaluation, as scoring writes them.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from alembic import op

from shared.rules.contributions import on_time_until
from shared.rules.dossier import read_facts
from shared.rules.ontime import end_of_processing

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels = None
depends_on = None

# Pages by key, not a server-side cursor (see 0014).
_PAGE = sa.text(
    "SELECT dossier_code, state::text, evaluated_at FROM dossiers"
    " WHERE dossier_code > :after ORDER BY dossier_code LIMIT 5000"
)
_FILL = sa.text(
    "UPDATE dossiers AS d SET overdue_from = f.overdue_from, disliked = f.disliked"
    " FROM unnest(CAST(:codes AS text[]), CAST(:overdue_from AS timestamptz[]),"
    " CAST(:disliked AS bool[])) AS f(code, overdue_from, disliked)"
    " WHERE d.dossier_code = f.code"
)


def upgrade() -> None:
    op.add_column("dossiers", sa.Column("overdue_from", sa.DateTime(timezone=True)))
    op.add_column("dossiers", sa.Column("disliked", sa.Boolean()))
    bind = op.get_bind()
    after = ""
    while page := bind.execute(_PAGE, {"after": after}).all():
        codes, overdue_from, disliked = [], [], []
        for code, text, evaluated_at in page:
            facts = read_facts(orjson.loads(text))
            terms = on_time_until(facts, end_of_processing(facts, evaluated_at))
            if terms is not None:
                codes.append(code)
                overdue_from.append(terms.overdue_from)
                disliked.append(terms.disliked)
        if codes:
            bind.execute(
                _FILL, {"codes": codes, "overdue_from": overdue_from, "disliked": disliked}
            )
        after = page[-1][0]


def downgrade() -> None:
    op.drop_column("dossiers", "disliked")
    op.drop_column("dossiers", "overdue_from")
