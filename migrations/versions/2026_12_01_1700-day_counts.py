"""Day counts for the dossiers scored before scoring kept them: every dossier's day counts
(`shared.rules.contributions`, `days=True`: its receipt on its day, its end of processing on its
day, or among those in progress) as of the instant it was last evaluated, which is what scoring
subtracts when it evaluates it next. Written to partition 0 (readers sum the partitions). No
table changes; on an empty database, nothing to do.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import os

import orjson
import sqlalchemy as sa
from alembic import op

from shared.periods import Calendar
from shared.rules.contributions import NOTHING, DeltaSum, contributions, with_province
from shared.rules.dossier import read_facts

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels = None
depends_on = None

_UPSERT = sa.text(
    "INSERT INTO indicator_counts (period_key, unit_code, indicator_id, partition, numerator,"
    " denominator) VALUES (:period, :unit, :indicator, 0, :numerator, :denominator)"
    " ON CONFLICT (period_key, unit_code, indicator_id, partition) DO UPDATE SET"
    " numerator = indicator_counts.numerator + excluded.numerator,"
    " denominator = indicator_counts.denominator + excluded.denominator"
)


_PAGE = sa.text(
    "SELECT dossier_code, state::text, evaluated_at FROM dossiers"
    " WHERE dossier_code > :after ORDER BY dossier_code LIMIT 5000"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT NOT EXISTS (SELECT FROM dossiers)")).scalar():
        return
    province = bind.execute(
        sa.text("SELECT min(unit_code) FROM units WHERE level = 'PROVINCE'")
    ).scalar()
    if province is None:
        raise RuntimeError("dossiers are scored but no unit is the province: start scoring once")
    # The scoring services' time zone (their TIMEZONE setting).
    calendar = Calendar(os.environ.get("TIMEZONE", "Asia/Ho_Chi_Minh"))
    deltas = DeltaSum()
    # Pages by key, not a server-side cursor: one left open on dossiers (asyncpg's adapter
    # keeps it to the transaction's end) would keep a later migration of the run from altering
    # the table.
    after = ""
    while page := bind.execute(_PAGE, {"after": after}).all():
        for _, text, evaluated_at in page:
            facts = read_facts(orjson.loads(text))
            if facts.unit_code is not None:
                contribution = contributions(facts, evaluated_at, calendar, (), days=True)
                deltas.add_difference(facts.unit_code, contribution, NOTHING)
        after = page[-1][0]
    rows = [
        {"period": period, "unit": unit, "indicator": indicator, "numerator": n, "denominator": d}
        for (unit, period, indicator), (n, d) in with_province(deltas.deltas(), province).items()
    ]
    if rows:
        bind.execute(_UPSERT, rows)


def downgrade() -> None:
    op.execute(
        "DELETE FROM indicator_counts WHERE period_key = 'in-progress'"
        " OR period_key ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'"
    )
