"""The scoring service's queries. Callers own the transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import func, select, text, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.batch import DossierRow, FeedbackRow, StoredState
from shared.db import driver_connection
from shared.errors import Misconfigured
from shared.events import CATALOGUE_KINDS, UnitLevel
from shared.models import (
    Base,
    Dossier,
    Event,
    Feedback,
    HistoryDay,
    HistoryRestatement,
    IndicatorCount,
    PeriodVersion,
    Procedure,
    Publication,
    ScoringPosition,
    Unit,
)
from shared.rules.contributions import CountDeltas, CountKey
from shared.rules.ontime import OVERDUE_OUTCOMES, DossierOutcome
from shared.versions import VERSIONS_CHANNEL, MovedVersion, VersionsMoved, versions_payload

# The position of a single scorer before partitions: read once, to start the partitions from.
UNPARTITIONED = "events"
# Held while partition rows are made: instances starting together make them once.
PARTITIONS_SETUP_LOCK = 766_004
# The connections of `services.scoring.claims`, one per instance: how instances count each other.
CLAIMS_APPLICATION = "chiso766-scoring-claims"


@dataclass(frozen=True, slots=True)
class Share:
    """The partitions one step covers, out of how many there are."""

    partitions: tuple[int, ...]
    count: int

    @property
    def everything(self) -> bool:
        return len(self.partitions) == self.count

    @property
    def writes_to(self) -> int:
        """Where this step's counts and versions go: a partition it owns, so that no two
        instances ever write the same row (only the sum over partitions means anything)."""
        return min(self.partitions)


def position_name(partition: int, count: int) -> str:
    return f"partition:{partition}/{count}"


class PartitionsChanged(Misconfigured):
    """The partitions on record are not those configured, and scoring has not caught up."""


async def init_partitions(
    session: AsyncSession, count: int, now: datetime, first: datetime | None = None
) -> None:
    """Make a position row for each of `count` partitions if there are none yet: from the single
    scorer's position, or from another partitioning that has caught up (all at one seq) and
    whose instances have stopped; with no position at all, at the instant `first` (now by
    default)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:key)"), {"key": PARTITIONS_SETUP_LOCK}
    )
    rows = list(await session.scalars(select(ScoringPosition)))
    if {position_name(p, count) for p in range(count)} <= {row.name for row in rows}:
        return
    if len({row.last_seq for row in rows}) > 1:
        raise PartitionsChanged(
            f"SCORING_PARTITIONS is {count}, but the partitions on record"
            f" ({', '.join(sorted(row.name for row in rows))}) are not at one position: run the"
            " previous setting until scoring has caught up, then change it"
        )
    if rows and await claimants(session):
        raise PartitionsChanged(
            f"SCORING_PARTITIONS is {count}, but scoring instances with another setting are"
            " running: stop them all before changing it"
        )
    scanned = [row.due_soon_scanned_to for row in rows if row.due_soon_scanned_to is not None]
    start = {
        "last_seq": max((row.last_seq for row in rows), default=0),
        "as_of": max((row.as_of for row in rows), default=first or now),
        "updated_at": now,
        "due_soon_scanned_to": min(scanned, default=None),
    }
    applied = sum(row.events_applied for row in rows)
    for row in rows:
        await session.delete(row)
    await session.flush()
    await session.execute(
        insert(ScoringPosition),
        [
            # What was applied before stays counted once, on partition 0.
            {**start, "name": position_name(p, count), "events_applied": applied if p == 0 else 0}
            for p in range(count)
        ],
    )


# Scoring instances holding partitions: their claims connections to this database.
CLAIMANTS = """
SELECT count(*) FROM pg_stat_activity
WHERE application_name = $1 AND datname = current_database()
"""


async def claimants(session: AsyncSession) -> int:
    connection = await driver_connection(session)
    return int(await connection.fetchval(CLAIMANTS, CLAIMS_APPLICATION))


async def lock_positions(session: AsyncSession, share: Share) -> dict[int, ScoringPosition]:
    """The positions of the share's partitions, locked: a second guard beside the claims."""
    names = {position_name(p, share.count): p for p in share.partitions}
    rows = await session.scalars(
        select(ScoringPosition)
        .where(ScoringPosition.name.in_(list(names)))
        .order_by(ScoringPosition.name)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = {names[row.name]: row for row in rows}
    if len(found) < len(names):
        raise PartitionsChanged(
            f"no position for partitions {sorted(set(share.partitions) - found.keys())} of"
            f" {share.count}: SCORING_PARTITIONS was changed while this instance ran"
        )
    return found


async def read_positions(session: AsyncSession, count: int) -> dict[int, ScoringPosition]:
    names = {position_name(p, count): p for p in range(count)}
    rows = await session.scalars(
        select(ScoringPosition).where(ScoringPosition.name.in_(list(names)))
    )
    return {names[row.name]: row for row in rows}


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    kind: str
    payload: dict[str, Any]


_FETCH_ALL = """
SELECT seq, kind, payload::text FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3
"""
_FETCH_SHARE = """
SELECT seq, kind, payload::text FROM events
WHERE seq > $1 AND seq <= $2
  AND (kind = ANY($4::text[]) OR chiso766_partition(subject, $5) = ANY($6::int[]))
ORDER BY seq LIMIT $3
"""


async def fetch_events(
    session: AsyncSession, share: Share, after_seq: int, up_to_seq: int, limit: int
) -> list[StoredEvent]:
    """The share's next events in sequence order, and every catalogue event (each partition
    re-evaluates its own dossiers). Writers append under `EVENTS_APPEND_LOCK`, so a sequence
    number is visible only after every smaller one: reading `seq > last` skips nothing."""
    connection = await driver_connection(session)
    if share.everything:
        rows = await connection.fetch(_FETCH_ALL, after_seq, up_to_seq, limit)
    else:
        rows = await connection.fetch(
            _FETCH_SHARE,
            after_seq,
            up_to_seq,
            limit,
            list(CATALOGUE_KINDS),
            share.count,
            list(share.partitions),
        )
    return [StoredEvent(seq, kind, orjson.loads(payload)) for seq, kind, payload in rows]


def _in_share(column: Any, share: Share) -> Any:
    if share.everything:
        return true()
    return func.chiso766_partition(column, share.count).in_(share.partitions)


async def fetch_due(
    session: AsyncSession, share: Share, now: datetime
) -> tuple[list[str], list[str]]:
    """Every dossier and feedback of the share whose contribution may have changed by `now`
    with no event.

    All of them, not a batch: the counts are evaluated at one instant, so a subject left for
    later would make them inconsistent (a new week starts for every dossier in progress at once).
    """
    dossiers = await session.scalars(
        select(Dossier.dossier_code).where(
            Dossier.next_transition_at <= now, _in_share(Dossier.dossier_code, share)
        )
    )
    feedback = await session.scalars(
        select(Feedback.feedback_id).where(
            Feedback.next_transition_at <= now, _in_share(Feedback.feedback_id, share)
        )
    )
    return list(dossiers), list(feedback)


async def coming_due(
    session: AsyncSession, share: Share, after: datetime, until: datetime
) -> list[Dossier]:
    """The share's dossiers in progress, not overdue, whose due time is in (after, until]."""
    return list(
        await session.scalars(
            select(Dossier).where(
                Dossier.outcome == DossierOutcome.IN_PROGRESS,
                Dossier.effective_due_at > after,
                Dossier.effective_due_at <= until,
                _in_share(Dossier.dossier_code, share),
            )
        )
    )


async def overdue_since(session: AsyncSession, share: Share, since: datetime) -> list[Dossier]:
    """The share's dossiers overdue, in progress or finished, due `since` or later."""
    return list(
        await session.scalars(
            select(Dossier).where(
                Dossier.outcome.in_(OVERDUE_OUTCOMES),
                Dossier.effective_due_at >= since,
                _in_share(Dossier.dossier_code, share),
            )
        )
    )


async def load_dossiers(session: AsyncSession, codes: Iterable[str]) -> dict[str, StoredState]:
    return await _load(
        session,
        "SELECT dossier_code, state::text, evaluated_at FROM dossiers"
        " WHERE dossier_code = ANY($1::text[])",
        codes,
    )


async def load_feedback(session: AsyncSession, ids: Iterable[str]) -> dict[str, StoredState]:
    return await _load(
        session,
        "SELECT feedback_id, state::text, evaluated_at FROM feedback"
        " WHERE feedback_id = ANY($1::text[])",
        ids,
    )


async def _load(session: AsyncSession, query: str, keys: Iterable[str]) -> dict[str, StoredState]:
    keys = list(keys)
    if not keys:
        return {}
    connection = await driver_connection(session)
    rows = await connection.fetch(query, keys)
    return {key: StoredState(orjson.loads(state), at) for key, state, at in rows}


_SAVE_DOSSIERS = """
INSERT INTO dossiers (
    dossier_code, unit_code, procedure_code, status, received_at, due_at, outcome,
    overdue_reason, effective_due_at, clock_stopped_at, state, evaluated_at, next_transition_at,
    ended_at, overdue_from, disliked
)
SELECT d.code, d.unit, d.procedure, d.status, d.received_at, d.due_at, d.outcome, d.reason,
       d.effective_due_at, d.clock_stopped_at, d.state::jsonb, d.evaluated_at, d.next_at,
       d.ended_at, d.overdue_from, d.disliked
FROM unnest(
    $1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],
    $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::text[],
    $12::timestamptz[], $13::timestamptz[], $14::timestamptz[], $15::timestamptz[], $16::bool[]
) AS d(code, unit, procedure, status, received_at, due_at, outcome, reason, effective_due_at,
       clock_stopped_at, state, evaluated_at, next_at, ended_at, overdue_from, disliked)
ON CONFLICT (dossier_code) DO UPDATE SET
    unit_code = excluded.unit_code,
    procedure_code = excluded.procedure_code,
    status = excluded.status,
    received_at = excluded.received_at,
    due_at = excluded.due_at,
    outcome = excluded.outcome,
    overdue_reason = excluded.overdue_reason,
    effective_due_at = excluded.effective_due_at,
    clock_stopped_at = excluded.clock_stopped_at,
    state = excluded.state,
    evaluated_at = excluded.evaluated_at,
    next_transition_at = excluded.next_transition_at,
    ended_at = excluded.ended_at,
    overdue_from = excluded.overdue_from,
    disliked = excluded.disliked
"""

_ADD_COUNTS = """
INSERT INTO indicator_counts
    (unit_code, period_key, indicator_id, numerator, denominator, partition)
SELECT u, p, i, n, d, $6
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS c(u, p, i, n, d)
ON CONFLICT (period_key, unit_code, indicator_id, partition) DO UPDATE SET
    numerator = indicator_counts.numerator + excluded.numerator,
    denominator = indicator_counts.denominator + excluded.denominator
"""


async def save_dossiers(session: AsyncSession, rows: Sequence[DossierRow]) -> None:
    """One `unnest` upsert for the whole batch (executemany is ten times slower)."""
    if not rows:
        return
    # A stable order keeps concurrent writers from deadlocking on the same rows.
    rows = sorted(rows, key=lambda row: row.dossier_code)
    connection = await driver_connection(session)
    await connection.execute(
        _SAVE_DOSSIERS,
        [r.dossier_code for r in rows],
        [r.unit_code for r in rows],
        [r.procedure_code for r in rows],
        [r.status for r in rows],
        [r.received_at for r in rows],
        [r.due_at for r in rows],
        [r.outcome for r in rows],
        [r.overdue_reason for r in rows],
        [r.effective_due_at for r in rows],
        [r.clock_stopped_at for r in rows],
        [orjson.dumps(r.state).decode() for r in rows],
        [r.evaluated_at for r in rows],
        [r.next_transition_at for r in rows],
        [r.ended_at for r in rows],
        [None if r.on_time_until is None else r.on_time_until.overdue_from for r in rows],
        [None if r.on_time_until is None else r.on_time_until.disliked for r in rows],
    )


_SAVE_FEEDBACK = """
INSERT INTO feedback (
    feedback_id, unit_code, status, received_at, late, state, evaluated_at, next_transition_at,
    ended_at
)
SELECT f.id, f.unit, f.status, f.received_at, f.late, f.state::jsonb, f.evaluated_at, f.next_at,
       f.ended_at
FROM unnest(
    $1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::boolean[], $6::text[],
    $7::timestamptz[], $8::timestamptz[], $9::timestamptz[]
) AS f(id, unit, status, received_at, late, state, evaluated_at, next_at, ended_at)
ON CONFLICT (feedback_id) DO UPDATE SET
    unit_code = excluded.unit_code,
    status = excluded.status,
    received_at = excluded.received_at,
    late = excluded.late,
    state = excluded.state,
    evaluated_at = excluded.evaluated_at,
    next_transition_at = excluded.next_transition_at,
    ended_at = excluded.ended_at
"""


async def save_feedback(session: AsyncSession, rows: Sequence[FeedbackRow]) -> None:
    if not rows:
        return
    rows = sorted(rows, key=lambda row: row.feedback_id)
    connection = await driver_connection(session)
    await connection.execute(
        _SAVE_FEEDBACK,
        [r.feedback_id for r in rows],
        [r.unit_code for r in rows],
        [r.status for r in rows],
        [r.received_at for r in rows],
        [r.late for r in rows],
        [orjson.dumps(r.state).decode() for r in rows],
        [r.evaluated_at for r in rows],
        [r.next_transition_at for r in rows],
        [r.ended_at for r in rows],
    )


async def add_counts(session: AsyncSession, deltas: CountDeltas, partition: int) -> None:
    if not deltas:
        return
    keys = sorted(deltas)
    connection = await driver_connection(session)
    await connection.execute(
        _ADD_COUNTS,
        [unit for unit, _, _ in keys],
        [period for _, period, _ in keys],
        [indicator for _, _, indicator in keys],
        [deltas[key][0] for key in keys],
        [deltas[key][1] for key in keys],
        partition,
    )


async def bump_periods(
    session: AsyncSession,
    periods: Iterable[str],
    closed: Iterable[str],
    now: datetime,
    partition: int,
) -> list[MovedVersion]:
    """New versions for the changed periods (this partition's row of each); a change to a
    closed one is a restatement."""
    restated = set(closed)
    rows = [
        {
            "period_key": key,
            "partition": partition,
            "version": 1,
            "updated_at": now,
            "restated_at": now if key in restated else None,
        }
        for key in sorted(periods)
    ]
    if not rows:
        return []
    statement = insert(PeriodVersion).values(rows)
    result = await session.execute(
        statement.on_conflict_do_update(
            index_elements=[PeriodVersion.period_key, PeriodVersion.partition],
            set_={
                "version": PeriodVersion.version + 1,
                "updated_at": statement.excluded.updated_at,
                "restated_at": func.coalesce(
                    statement.excluded.restated_at, PeriodVersion.restated_at
                ),
            },
        ).returning(PeriodVersion.period_key, PeriodVersion.version, PeriodVersion.restated_at)
    )
    return [MovedVersion(key, version, restated) for key, version, restated in result.all()]


async def notify_versions(session: AsyncSession, moved: VersionsMoved) -> None:
    """Tell the api's processes (at commit) which versions moved: they answer from memory."""
    await session.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": VERSIONS_CHANNEL, "payload": versions_payload(moved)},
    )


async def ensure_units(session: AsyncSession, codes: Iterable[str]) -> int:
    """Units seen in dossiers before the catalogue names them: scored, but with no level. How
    many were new."""
    rows = [
        {"unit_code": code, "name": code, "level": None, "parent_code": None, "stamp": ""}
        for code in sorted(codes)
    ]
    if not rows:
        return 0
    result = await session.execute(
        insert(Unit).values(rows).on_conflict_do_nothing().returning(Unit.unit_code)
    )
    return len(result.all())


async def ensure_province(session: AsyncSession, code: str, name: str) -> None:
    """The province always exists: its scores pool every unit's counts."""
    await session.execute(
        insert(Unit)
        .values(unit_code=code, name=name, level=UnitLevel.PROVINCE, parent_code=None, stamp="")
        .on_conflict_do_nothing()
    )


async def procedure_facts(
    session: AsyncSession, codes: Iterable[str] | None = None
) -> dict[str, dict[str, Any]]:
    """What the catalogue says of procedures (all of them if `codes` is None) that a dossier's
    own events may leave unsaid."""
    query = select(Procedure.procedure_code, Procedure.paper_result_required)
    if codes is not None:
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        query = query.where(Procedure.procedure_code.in_(wanted))
    return {
        code: {} if paper is None else {"paper_result_required": paper}
        for code, paper in await session.execute(query)
    }


async def dossiers_of_procedures(
    session: AsyncSession, share: Share, codes: Iterable[str]
) -> list[str]:
    result = await session.scalars(
        select(Dossier.dossier_code).where(
            Dossier.procedure_code.in_(sorted(set(codes))), _in_share(Dossier.dossier_code, share)
        )
    )
    return list(result)


# What each kind of catalogue event writes: its table, its key columns, the fields it sets.
_CATALOGUE: dict[str, tuple[type[Base], tuple[str, ...], tuple[str, ...]]] = {
    "unit": (Unit, ("unit_code",), ("name", "level", "parent_code", "e_certified_copy")),
    "procedure": (
        Procedure,
        ("procedure_code",),
        (
            "name",
            "levels",
            "unit_codes",
            "online_service",
            "paper_result_required",
            "has_fee",
            "max_processing_days",
            "for_individuals",
        ),
    ),
    "publication": (
        Publication,
        ("procedure_code", "decision_date"),
        ("legal_effective_date", "published_at", "components_complete"),
    ),
}


async def apply_catalogue_events(
    session: AsyncSession, kind: str, payloads: Sequence[dict[str, Any]]
) -> None:
    """Catalogue rows, last writer (by occurred_at, event_id) wins, whatever the arrival order."""
    model, keys, fields = _CATALOGUE[kind]
    latest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for payload in payloads:
        stamp = f"{payload['occurred_at']}|{payload['event_id']}"
        key = tuple(payload[k] for k in keys)
        current = latest.get(key)
        if current is None or current["stamp"] < stamp:
            latest[key] = {
                **{k: payload[k] for k in keys},
                **{f: payload.get(f, [] if f == "unit_codes" else None) for f in fields},
                "stamp": stamp,
            }
    if not latest:
        return
    for row in latest.values():
        for name in ("decision_date", "legal_effective_date", "published_at"):
            if isinstance(row.get(name), str):
                row[name] = date.fromisoformat(row[name])
    statement = insert(model)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: statement.excluded[name] for name in (*fields, "stamp")},
            where=model.__table__.c.stamp < statement.excluded.stamp,
        ),
        [latest[key] for key in sorted(latest)],
    )


async def scored_payloads(
    session: AsyncSession, up_to_seq: int, fetch_size: int
) -> AsyncIterator[tuple[int, str, dict[str, Any]]]:
    """(seq, kind, payload) of every stored dossier and feedback event up to `up_to_seq`, in
    order."""
    result = await session.stream(
        select(Event.seq, Event.kind, Event.payload)
        .where(Event.kind.not_in(CATALOGUE_KINDS))
        .where(Event.seq <= up_to_seq)
        .order_by(Event.seq)
        .execution_options(yield_per=fetch_size)
    )
    async for seq, kind, payload in result:
        yield seq, kind, payload


async def all_counts(session: AsyncSession) -> dict[CountKey, tuple[int, int]]:
    """Every kept count that is not zero."""
    cell = (IndicatorCount.unit_code, IndicatorCount.period_key, IndicatorCount.indicator_id)
    result = await session.execute(
        select(
            *cell, func.sum(IndicatorCount.numerator), func.sum(IndicatorCount.denominator)
        ).group_by(*cell)
    )
    return {(u, p, i): (int(n), int(d)) for u, p, i, n, d in result if (n, d) != (0, 0)}


async def last_stored_seq(session: AsyncSession) -> int:
    """The newest event's sequence number: every event up to it is visible (see `fetch_events`)."""
    return int(await session.scalar(select(func.coalesce(func.max(Event.seq), 0))) or 0)


# A day's snapshot: the partitions' counts of the running periods, one row per unit and period
# (a compact row beats a row per indicator: see the README's history costs). Partition 0 also
# copies the rows of partitions beyond the configured count (left by a larger setting, written
# by no one since), so that the sum over partitions is the whole.
_SNAPSHOT = """
INSERT INTO score_history (period_key, day, unit_code, partition, counts)
SELECT period_key, $1::date, unit_code, partition,
       jsonb_object_agg(indicator_id, jsonb_build_array(numerator, denominator))
FROM indicator_counts
WHERE period_key = ANY($2::text[])
  AND (partition = ANY($3::smallint[]) OR ($4 AND partition >= $5))
  AND (numerator <> 0 OR denominator <> 0)
GROUP BY period_key, unit_code, partition
"""


async def close_day(
    session: AsyncSession,
    day: date,
    periods: Sequence[str],
    partitions: Sequence[int],
    count: int,
    last_seq: int,
    closed_at: datetime,
) -> None:
    """Copy `partitions`' counts of `periods` as they stand into the history of `day`, and
    record that they closed it. A second close of a day by a partition is a bug: the keys
    refuse it."""
    connection = await driver_connection(session)
    await connection.execute(
        _SNAPSHOT, day, list(periods), list(partitions), 0 in partitions, count
    )
    await session.execute(
        insert(HistoryDay),
        [
            {"day": day, "partition": p, "last_seq": last_seq, "closed_at": closed_at}
            for p in sorted(partitions)
        ],
    )


async def days_closed(session: AsyncSession, partitions: Sequence[int], since: date) -> list[date]:
    """The days since `since` that any of `partitions` has closed."""
    result = await session.scalars(
        select(HistoryDay.day)
        .distinct()
        .where(HistoryDay.partition.in_(list(partitions)), HistoryDay.day >= since)
        .order_by(HistoryDay.day)
    )
    return list(result)


async def add_restatements(
    session: AsyncSession,
    changes: Mapping[date, CountDeltas],
    partition: int,
    restated_at: datetime,
) -> None:
    """What a step's late events changed in closed days, dated by the step."""
    rows: dict[tuple[date, str, str], dict[str, list[int]]] = {}
    for day, deltas in changes.items():
        for (unit, period, indicator), counts in deltas.items():
            rows.setdefault((day, period, unit), {})[indicator] = list(counts)
    if not rows:
        return
    await session.execute(
        insert(HistoryRestatement),
        [
            {
                "period_key": period,
                "day": day,
                "unit_code": unit,
                "partition": partition,
                "restated_at": restated_at,
                "counts": counts,
            }
            for (day, period, unit), counts in sorted(rows.items())
        ],
    )


async def history_days(session: AsyncSession, day: date) -> dict[int, HistoryDay]:
    """The partitions' closes of `day`."""
    rows = await session.scalars(select(HistoryDay).where(HistoryDay.day == day))
    return {row.partition: row for row in rows}


async def latest_closed_day(session: AsyncSession, count: int) -> date | None:
    """The newest day every one of `count` partitions has closed."""
    return await session.scalar(
        select(HistoryDay.day)
        .where(HistoryDay.partition < count)
        .group_by(HistoryDay.day)
        .having(func.count() == count)
        .order_by(HistoryDay.day.desc())
        .limit(1)
    )


async def history_counts(
    session: AsyncSession, day: date, periods: Sequence[str]
) -> dict[CountKey, tuple[int, int]]:
    """The recorded counts of `day` (summed over partitions), cells that are not zero."""
    connection = await driver_connection(session)
    rows = await connection.fetch(
        "SELECT h.unit_code, h.period_key, c.key, sum((c.value->>0)::bigint),"
        " sum((c.value->>1)::bigint)"
        " FROM score_history h, jsonb_each(h.counts) c"
        " WHERE h.day = $1 AND h.period_key = ANY($2::text[])"
        " GROUP BY h.unit_code, h.period_key, c.key",
        day,
        list(periods),
    )
    return {(u, p, i): (int(n), int(d)) for u, p, i, n, d in rows if (n, d) != (0, 0)}
