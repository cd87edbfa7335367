"""Scoring partitioned by subject: counts and period versions kept per partition.

Each scoring instance owns some partitions of the dossiers and feedback, so two instances never
write the same count or version row. The counts of a cell are the sum over its partitions (only
the sums mean something: a subject's delta may land in any partition), which is why the rows that
exist today become partition 0 as they are.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels = None
depends_on = None

# The partition of a subject (a dossier code, a feedback id) among `partitions`: from its md5, as
# `shared.partitions.partition_of` computes it in Python.
PARTITION_FUNCTION = """
CREATE FUNCTION chiso766_partition(subject text, partitions integer) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (get_byte(decode(md5(subject), 'hex'), 0) * 256
            + get_byte(decode(md5(subject), 'hex'), 1)) % partitions
$$
"""


def upgrade() -> None:
    op.execute(PARTITION_FUNCTION)
    for table, keys in (
        ("indicator_counts", ["period_key", "unit_code", "indicator_id"]),
        ("period_versions", ["period_key"]),
    ):
        op.add_column(
            table, sa.Column("partition", sa.SmallInteger(), nullable=False, server_default="0")
        )
        op.drop_constraint(f"pk_{table}", table, type_="primary")
        op.create_primary_key(f"pk_{table}", table, [*keys, "partition"])


def downgrade() -> None:
    for table, keys in (
        ("indicator_counts", ["period_key", "unit_code", "indicator_id"]),
        ("period_versions", ["period_key"]),
    ):
        op.execute(f"DELETE FROM {table} WHERE partition <> 0")
        op.drop_constraint(f"pk_{table}", table, type_="primary")
        op.create_primary_key(f"pk_{table}", table, keys)
        op.drop_column(table, "partition")
    op.execute("DROP FUNCTION chiso766_partition(text, integer)")
