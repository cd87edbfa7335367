"""The scoring service's queries. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.batch import CountDeltas, DossierRecord, DossierRow
from shared.models import Dossier, Event, IndicatorCount, PeriodVersion, ScoringPosition, Unit

POSITION = "events"
# Rows below the oldest running transaction are final: none can appear with a smaller key.
_SAFE_TX_HORIZON = text("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")


async def lock_position(session: AsyncSession, now: datetime) -> ScoringPosition:
    """The position row, locked: concurrent scoring instances take turns, never overlap."""
    await session.execute(
        insert(ScoringPosition)
        .values(
            name=POSITION, last_tx_id=0, last_seq=0, as_of=now, events_applied=0, updated_at=now
        )
        .on_conflict_do_nothing()
    )
    position = await session.scalar(
        select(ScoringPosition)
        .where(ScoringPosition.name == POSITION)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert position is not None
    return position


async def read_position(session: AsyncSession) -> ScoringPosition | None:
    return await session.get(ScoringPosition, POSITION)


async def fetch_events(
    session: AsyncSession, after_tx: int, after_seq: int, limit: int
) -> Sequence[Any]:
    result = await session.execute(
        select(Event.tx_id, Event.seq, Event.kind, Event.payload)
        .where(tuple_(Event.tx_id, Event.seq) > tuple_(after_tx, after_seq))
        .where(Event.tx_id < _SAFE_TX_HORIZON)
        .order_by(Event.tx_id, Event.seq)
        .limit(limit)
    )
    return result.all()


async def fetch_due(session: AsyncSession, now: datetime, limit: int) -> list[str]:
    result = await session.scalars(
        select(Dossier.dossier_code)
        .where(Dossier.next_transition_at <= now)
        .order_by(Dossier.next_transition_at)
        .limit(limit)
    )
    return list(result)


async def load_dossiers(session: AsyncSession, codes: Iterable[str]) -> dict[str, DossierRecord]:
    codes = list(codes)
    if not codes:
        return {}
    result = await session.execute(
        select(Dossier.dossier_code, Dossier.state, Dossier.evaluated_at).where(
            Dossier.dossier_code.in_(codes)
        )
    )
    return {code: DossierRecord(state, evaluated_at) for code, state, evaluated_at in result}


async def save_dossiers(session: AsyncSession, rows: Sequence[DossierRow]) -> None:
    if not rows:
        return
    statement = insert(Dossier)
    columns = {c.name: statement.excluded[c.name] for c in Dossier.__table__.columns}
    del columns["dossier_code"]
    await session.execute(
        statement.on_conflict_do_update(index_elements=[Dossier.dossier_code], set_=columns),
        [asdict(row) for row in rows],
    )


async def add_counts(session: AsyncSession, deltas: CountDeltas) -> None:
    if not deltas:
        return
    statement = insert(IndicatorCount)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[
                IndicatorCount.period_key,
                IndicatorCount.unit_code,
                IndicatorCount.indicator_id,
            ],
            set_={
                "numerator": IndicatorCount.numerator + statement.excluded.numerator,
                "denominator": IndicatorCount.denominator + statement.excluded.denominator,
            },
        ),
        [
            {
                "unit_code": unit,
                "period_key": period,
                "indicator_id": indicator,
                "numerator": numerator,
                "denominator": denominator,
            }
            # A stable order keeps concurrent writers from deadlocking on the same rows.
            for (unit, period, indicator), (numerator, denominator) in sorted(deltas.items())
        ],
    )


async def bump_periods(session: AsyncSession, periods: Iterable[str], now: datetime) -> None:
    rows = [{"period_key": key, "version": 1, "updated_at": now} for key in sorted(periods)]
    if not rows:
        return
    statement = insert(PeriodVersion)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[PeriodVersion.period_key],
            set_={
                "version": PeriodVersion.version + 1,
                "updated_at": statement.excluded.updated_at,
            },
        ),
        rows,
    )


async def ensure_units(session: AsyncSession, codes: Iterable[str]) -> None:
    """Units seen in dossiers before the catalogue names them: scored, but with no level."""
    rows = [
        {"unit_code": code, "name": code, "level": None, "parent_code": None, "stamp": ""}
        for code in sorted(codes)
    ]
    if rows:
        await session.execute(insert(Unit).on_conflict_do_nothing(), rows)


async def ensure_province(session: AsyncSession, code: str, name: str) -> None:
    """The province always exists: its scores pool every unit's counts."""
    await session.execute(
        insert(Unit)
        .values(unit_code=code, name=name, level="PROVINCE", parent_code=None, stamp="")
        .on_conflict_do_nothing()
    )


async def apply_unit_events(session: AsyncSession, payloads: Sequence[dict[str, Any]]) -> None:
    """Catalogue units, last writer (by occurred_at, event_id) wins."""
    latest: dict[str, dict[str, Any]] = {}
    for payload in payloads:
        stamp = f"{payload['occurred_at']}|{payload['event_id']}"
        current = latest.get(payload["unit_code"])
        if current is None or current["stamp"] < stamp:
            latest[payload["unit_code"]] = {
                "unit_code": payload["unit_code"],
                "name": payload["name"],
                "level": payload["level"],
                "parent_code": payload.get("parent_code"),
                "stamp": stamp,
            }
    if not latest:
        return
    statement = insert(Unit)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Unit.unit_code],
            set_={
                "name": statement.excluded.name,
                "level": statement.excluded.level,
                "parent_code": statement.excluded.parent_code,
                "stamp": statement.excluded.stamp,
            },
            where=Unit.stamp < statement.excluded.stamp,
        ),
        [latest[code] for code in sorted(latest)],
    )


async def count_events(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Event)) or 0)
