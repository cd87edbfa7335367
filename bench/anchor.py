"""The physical anchor: how fast this PostgreSQL server takes the write scoring does most.

A table shaped like `dossiers` (`shared.models.Dossier`: its columns and its indexes, as of the
anchor's definition here, so that the anchor does not move when the model does), and a batch of
N rows written the way scoring writes them: COPY into a temporary table, then one
`INSERT … SELECT … ON CONFLICT DO UPDATE`. Once for N fresh rows, once updating the same N. Their
mean, in rows/s, is the anchor every throughput figure is a share of.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

TABLE = "anchor_dossiers"
COLUMNS = (
    "dossier_code",
    "unit_code",
    "procedure_code",
    "status",
    "received_at",
    "due_at",
    "outcome",
    "overdue_reason",
    "effective_due_at",
    "clock_stopped_at",
    "state",
    "evaluated_at",
    "next_transition_at",
)
DDL = f"""
CREATE TABLE {TABLE} (
    dossier_code varchar(64) PRIMARY KEY,
    unit_code varchar(64),
    procedure_code varchar(64),
    status varchar(32),
    received_at timestamptz,
    due_at timestamptz,
    outcome varchar(24) NOT NULL,
    overdue_reason varchar(32),
    effective_due_at timestamptz,
    clock_stopped_at timestamptz,
    state jsonb NOT NULL,
    evaluated_at timestamptz NOT NULL,
    next_transition_at timestamptz
);
CREATE INDEX ix_{TABLE}_unit_received ON {TABLE} (unit_code, received_at);
CREATE INDEX ix_{TABLE}_procedure ON {TABLE} (procedure_code);
CREATE INDEX ix_{TABLE}_overdue ON {TABLE} (unit_code, received_at)
    WHERE outcome IN ('OVERDUE', 'IN_PROGRESS_OVERDUE');
CREATE INDEX ix_{TABLE}_in_progress_due ON {TABLE} (effective_due_at)
    WHERE outcome = 'IN_PROGRESS';
CREATE INDEX ix_{TABLE}_next_transition ON {TABLE} (next_transition_at)
    WHERE next_transition_at IS NOT NULL;
"""
STAGING = f"CREATE TEMP TABLE anchor_staging (LIKE {TABLE}) ON COMMIT DROP"
UPSERT = f"""
INSERT INTO {TABLE} ({", ".join(COLUMNS)})
SELECT {", ".join(COLUMNS)} FROM anchor_staging
ON CONFLICT (dossier_code) DO UPDATE SET
{", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])}
"""
STATE_BYTES = 700
OUTCOMES = ("ON_TIME", "ON_TIME", "IN_PROGRESS", "IN_PROGRESS", "OVERDUE", "IN_PROGRESS_OVERDUE")
STATUSES = ("RECEIVED", "IN_PROGRESS", "SUPPLEMENT_REQUESTED", "RESOLVED", "RETURNED")


@dataclass(frozen=True, slots=True)
class Anchor:
    rows: int
    insert_rows_per_second: float
    update_rows_per_second: float
    state_bytes: int

    @property
    def rows_per_second(self) -> float:
        """THE anchor: the mean of the insert and the update rates."""
        return (self.insert_rows_per_second + self.update_rows_per_second) / 2


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _state(rng: random.Random, code: str, unit: str, procedure: str, at: datetime) -> str:
    """A dossier state as scoring stores it (`shared.rules.dossier`), padded to ~700 bytes."""
    stamp = f"{_instant(at)}|sim-{code}-1"
    state: dict[str, Any] = {
        "f": {
            "unit_code": [unit, stamp],
            "procedure_code": [procedure, stamp],
            "received_at": [_instant(at), stamp],
            "due_at": [_instant(at + timedelta(days=5)), stamp],
            "channel": [rng.choice(("ONLINE", "DIRECT", "POSTAL")), stamp],
        },
        "m": {
            f"sim-{code}-{step}": [status, _instant(at + timedelta(hours=step * 7))]
            for step, status in enumerate(("RECEIVED", "IN_PROGRESS"), 1)
        },
        "c": {"paper_result_required": False},
    }
    text = orjson.dumps(state).decode()
    padding = max(0, STATE_BYTES - len(text) - len(',"x":""'))
    state["x"] = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(padding))
    return orjson.dumps(state).decode()


def records(prefix: str, count: int, seed: int, version: int) -> list[tuple[Any, ...]]:
    """`count` dossier rows; a later `version` of the same prefix updates every column but the
    code."""
    rng = random.Random(seed * 1000 + version)
    base = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    rows = []
    for index in range(count):
        code = f"H19.{prefix}-{index:07d}"
        unit = f"unit-{rng.randrange(100):03d}"
        procedure = f"1.{rng.randrange(600):06d}"
        received = base + timedelta(minutes=rng.randrange(60 * 24 * 28))
        due = received + timedelta(days=rng.choice((1, 3, 5, 10, 15)))
        outcome = rng.choice(OUTCOMES)
        evaluated = base + timedelta(days=30, seconds=version)
        rows.append(
            (
                code,
                unit,
                procedure,
                rng.choice(STATUSES),
                received,
                due,
                outcome,
                "late" if "OVERDUE" in outcome else None,
                due,
                received + timedelta(days=2) if outcome in ("ON_TIME", "OVERDUE") else None,
                _state(rng, code, unit, procedure, received),
                evaluated,
                due if outcome == "IN_PROGRESS" else None,
            )
        )
    return rows


async def write(connection: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> float:
    """Seconds to COPY `rows` into a temporary table and upsert them, commit included."""
    started = time.perf_counter()
    async with connection.transaction():
        await connection.execute(STAGING)
        await connection.copy_records_to_table("anchor_staging", records=rows, columns=COLUMNS)
        await connection.execute(UPSERT)
    return time.perf_counter() - started


async def measure(url: str, rows: int = 50_000, rounds: int = 3, seed: int = 766) -> Anchor:
    """Median over `rounds` of inserting `rows` fresh rows and of updating the same rows."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f"DROP TABLE IF EXISTS {TABLE}")
        await connection.execute(DDL)
        inserts, updates = [], []
        state_bytes = 0
        for round_ in range(rounds):
            prefix = f"R{round_}"
            fresh = records(prefix, rows, seed + round_, 0)
            state_bytes = len(fresh[0][10])
            inserts.append(rows / await write(connection, fresh))
            updates.append(rows / await write(connection, records(prefix, rows, seed + round_, 1)))
            await connection.execute(f"VACUUM ANALYZE {TABLE}")
        await connection.execute(f"DROP TABLE {TABLE}")
    finally:
        await connection.close()
    return Anchor(rows, statistics.median(inserts), statistics.median(updates), state_bytes)
