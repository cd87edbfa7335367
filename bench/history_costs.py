"""What the history costs: the time to close a day (scoring's snapshot of every unit's counts in
its five running periods, `repository.close_day`) and the storage it takes per unit per year, for
100 and 10,000 units; beside it, the same snapshot kept as a row per indicator.

    python -m bench.history_costs [--units 100,10000] [--days 7] [--activity 40]

Each unit holds, in each period, the dossier indicators (as scoring keeps them: 14 cells) and
`--activity` procedure activity cells (`3.2@…`, `3.5@…`: the catalogue's indicators need them).
Figures are medians of `--days` closes; storage is measured after them and scaled to 365 days.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg
import orjson

from bench.stack import require_postgres, scratch_database
from services.scoring import repository
from services.scoring.batch import DossierRules
from services.scoring.history import day_end, restatements, running_periods
from shared.db import create_engine, create_sessionmaker, driver_url
from shared.events import Refusal, normalized_payload, parse_record
from shared.periods import ALL_KINDS, Calendar
from shared.rules.dossier import State, empty_state
from tests.support.factories import dossier_event, received

DOSSIER_CELLS = ("1.4", "2.1", "2.2", "3.3", "3.6", "4.1", "4.2", "4.3", "4.4", "4.5b", "5.4")
FEEDBACK_CELLS = ("5.1", "5.2", "5.3")
FIRST_DAY = date(2026, 3, 2)
# The alternatives, measured beside the one kept: (table, DDL, the day's snapshot).
ALTERNATIVES = {
    "a row per cell": (
        "history_cells",
        """
        CREATE TABLE history_cells (
            period_key varchar(16), day date, unit_code varchar(64), partition smallint,
            indicator_id varchar(80), numerator bigint, denominator bigint,
            PRIMARY KEY (period_key, day, unit_code, partition, indicator_id)
        )
        """,
        """
        INSERT INTO history_cells
        SELECT period_key, $1::date, unit_code, partition, indicator_id, numerator, denominator
        FROM indicator_counts
        WHERE period_key = ANY($2::text[]) AND (numerator <> 0 OR denominator <> 0)
        """,
    ),
    "arrays": (
        "history_arrays",
        """
        CREATE TABLE history_arrays (
            period_key varchar(16), day date, unit_code varchar(64), partition smallint,
            indicators text[], numerators bigint[], denominators bigint[],
            PRIMARY KEY (period_key, day, unit_code, partition)
        )
        """,
        """
        INSERT INTO history_arrays
        SELECT period_key, $1::date, unit_code, partition, array_agg(indicator_id),
               array_agg(numerator), array_agg(denominator)
        FROM indicator_counts
        WHERE period_key = ANY($2::text[]) AND (numerator <> 0 OR denominator <> 0)
        GROUP BY period_key, unit_code, partition
        """,
    ),
}
KEPT = "compact JSONB (kept)"


async def fill(url: str, units: int, activity: int, periods: list[str]) -> int:
    """indicator_counts for `units` units in `periods`, on partition 0; how many cells."""
    cells = [*DOSSIER_CELLS, *FEEDBACK_CELLS, *(f"3.2@1.{n:06d}" for n in range(activity))]
    connection = await asyncpg.connect(driver_url(url))
    try:
        rows = [
            (period, f"UNIT-{u:05d}", cell, 0, 3 + (u + i) % 40, 50 + u % 7)
            for period in periods
            for u in range(units)
            for i, cell in enumerate(cells)
        ]
        await connection.copy_records_to_table(
            "indicator_counts",
            records=rows,
            columns=[
                "period_key",
                "unit_code",
                "indicator_id",
                "partition",
                "numerator",
                "denominator",
            ],
        )
        await connection.execute("ANALYZE indicator_counts")
        for _, ddl, _ in ALTERNATIVES.values():
            await connection.execute(ddl)
        return len(rows)
    finally:
        await connection.close()


def restatement_cost(subjects: int, days: int) -> float:
    """Microseconds per subject and day to restate closed days: a late COMPLETED for dossiers
    received before them, evaluated at each day's midnight before and after."""
    calendar = Calendar()
    rules = DossierRules(calendar, ALL_KINDS)
    received_at = datetime.combine(FIRST_DAY, time(9), calendar.tz)
    before: dict[str, State | None] = {}
    after: dict[str, State] = {}
    for n in range(subjects):
        code = f"D{n}"
        state = empty_state()
        rules.apply(state, _payload(received(code, received_at, due_in=timedelta(days=20))))
        before[code] = orjson.loads(orjson.dumps(state))
        rules.apply(
            state, _payload(dossier_event(code, "COMPLETED", received_at + timedelta(hours=3)))
        )
        after[code] = state
    ends = [day_end(calendar, FIRST_DAY + timedelta(days=d)) for d in range(days)]
    periods = {end.day: running_periods(calendar, ALL_KINDS, end.day) for end in ends}
    earliest = dict.fromkeys(after, received_at)
    started = clock.perf_counter()
    restatements(rules, "19", before, after, earliest, ends, periods)
    return (clock.perf_counter() - started) / subjects / days * 1_000_000


def _payload(event: dict[str, Any]) -> dict[str, Any]:
    parsed = parse_record(orjson.dumps(event), topic="dossier")
    assert not isinstance(parsed, Refusal), parsed
    return normalized_payload(parsed)


async def measure(
    url: str, units: int, days: int, activity: int
) -> tuple[int, dict[str, tuple[float, float]]]:
    """How many counts rows; per way of keeping them, (ms to close a day, KiB per unit per
    year)."""
    calendar = Calendar()
    periods = running_periods(calendar, ALL_KINDS, FIRST_DAY)
    cells = await fill(url, units, activity, periods)
    engine = create_engine(url, application_name="bench-history")
    sessions = create_sessionmaker(engine)
    times: dict[str, list[float]] = {name: [] for name in (KEPT, *ALTERNATIVES)}
    connection = await asyncpg.connect(driver_url(url))
    try:
        for n in range(days):
            # The counts of the first day's periods, closed as several days.
            day = FIRST_DAY + timedelta(days=n)
            async with sessions.begin() as session:
                started = clock.perf_counter()
                await repository.close_day(session, day, periods, [0], 1, n, datetime.now(UTC))
                await session.flush()
            times[KEPT].append(clock.perf_counter() - started)
            for name, (_, _, snapshot) in ALTERNATIVES.items():
                started = clock.perf_counter()
                await connection.execute(snapshot, day, periods)
                times[name].append(clock.perf_counter() - started)
        tables = {KEPT: "score_history", **{n: t for n, (t, _, _) in ALTERNATIVES.items()}}
        found = {}
        for name, table in tables.items():
            await connection.execute(f"VACUUM ANALYZE {table}")
            size = await connection.fetchval("SELECT pg_total_relation_size($1::regclass)", table)
            found[name] = (
                statistics.median(times[name]) * 1000,
                size / units / days * 365 / 1024,
            )
    finally:
        await connection.close()
        await engine.dispose()
    return cells, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", default="100,10000")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--activity", type=int, default=40)
    parser.add_argument("--restated", type=int, default=2000, help="late dossiers to restate")
    arguments = parser.parse_args()
    require_postgres()
    print("units | counts rows | kept as | close a day | KiB per unit per year")
    for units in (int(u) for u in arguments.units.split(",")):
        with scratch_database("bench_history") as url:
            cells, found = asyncio.run(measure(url, units, arguments.days, arguments.activity))
        for name, (close_ms, kib) in found.items():
            print(f"{units} | {cells} | {name} | {close_ms:.1f} ms | {kib:.0f}")
    cost = restatement_cost(arguments.restated, 10)
    print(f"restating a closed day: {cost:.0f} µs per late dossier and day")


if __name__ == "__main__":
    main()
