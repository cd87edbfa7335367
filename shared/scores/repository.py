"""The queries scores are made of: indexed reads of what scoring maintains."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.methodology import Ratio
from shared.models import (
    Dossier,
    Feedback,
    IndicatorCount,
    PeriodVersion,
    Procedure,
    Publication,
    ScoringPosition,
    Unit,
)
from shared.rules.catalogue import (
    ACTIVITY_SEPARATOR,
    Catalogue,
    CatalogueProcedure,
    CataloguePublication,
    CatalogueUnit,
    activity_by_unit,
)
from shared.rules.members import Basis
from shared.rules.ontime import IN_PROGRESS_OUTCOMES, DossierOutcome


@dataclass(frozen=True, slots=True)
class UnitRecord:
    code: str
    name: str
    level: str | None


@dataclass(frozen=True, slots=True)
class PeriodState:
    version: int
    restated_at: datetime | None


NO_STATE = PeriodState(0, None)


@dataclass(frozen=True, slots=True)
class PeriodCounts:
    # {unit_code: {indicator_id: Ratio}}: about a hundred units × a dozen indicators.
    indicators: dict[str, dict[str, Ratio]]
    # {unit_code: {indicator_id: procedures with activity}}, for the catalogue's indicators.
    activity: dict[str, dict[str, set[str]]]


async def period_states(session: AsyncSession, keys: Sequence[str]) -> dict[str, PeriodState]:
    """The versions of several periods (and of the catalogue) in one read: summed over the
    scoring partitions, each of which bumps its own."""
    rows = await session.execute(
        select(
            PeriodVersion.period_key,
            func.sum(PeriodVersion.version),
            func.max(PeriodVersion.restated_at),
        )
        .where(PeriodVersion.period_key.in_(list(keys)))
        .group_by(PeriodVersion.period_key)
    )
    found = {key: PeriodState(int(version), restated) for key, version, restated in rows}
    return {key: found.get(key, NO_STATE) for key in keys}


@dataclass(frozen=True, slots=True)
class Progress:
    """How far scoring has got, over all its partitions."""

    events_applied: int
    # Every event up to this one is in the counts (the partition furthest behind).
    last_seq: int
    # The instant of the newest step: the counts as they stand then.
    as_of: datetime


async def progress(session: AsyncSession) -> Progress | None:
    """None before scoring's first start."""
    row = (
        await session.execute(
            select(
                func.sum(ScoringPosition.events_applied),
                func.min(ScoringPosition.last_seq),
                func.max(ScoringPosition.as_of),
            )
        )
    ).one()
    applied, last_seq, newest = row
    return None if newest is None else Progress(int(applied), int(last_seq), newest)


async def as_of(session: AsyncSession) -> datetime | None:
    """The instant scoring's counts stand at (None before its first step)."""
    newest: datetime | None = await session.scalar(select(func.max(ScoringPosition.as_of)))
    return newest


def split_counts(rows: Iterable[tuple[str, str, int, int]]) -> PeriodCounts:
    """(unit, indicator or activity cell, numerator, denominator) rows, sorted out."""
    counts: defaultdict[str, dict[str, Ratio]] = defaultdict(dict)
    active: list[tuple[str, str]] = []
    for unit_code, indicator_id, numerator, denominator in rows:
        if ACTIVITY_SEPARATOR in indicator_id:
            if denominator > 0:
                active.append((unit_code, indicator_id))
        else:
            counts[unit_code][indicator_id] = Ratio(numerator, denominator)
    return PeriodCounts(dict(counts), activity_by_unit(active))


async def period_counts(session: AsyncSession, period_key: str) -> PeriodCounts:
    """A period's counts, summed over the scoring partitions."""
    result = await session.execute(
        select(
            IndicatorCount.unit_code,
            IndicatorCount.indicator_id,
            func.sum(IndicatorCount.numerator),
            func.sum(IndicatorCount.denominator),
        )
        .where(IndicatorCount.period_key == period_key)
        .group_by(IndicatorCount.unit_code, IndicatorCount.indicator_id)
    )
    return split_counts((u, i, int(n), int(d)) for u, i, n, d in result)


async def catalogue(session: AsyncSession) -> Catalogue:
    """Units, procedures and publications: a few thousand small rows, read per catalogue version."""
    units = [
        CatalogueUnit(*row)
        for row in await session.execute(
            select(Unit.unit_code, Unit.name, Unit.level, Unit.e_certified_copy).order_by(
                Unit.unit_code
            )
        )
    ]
    procedures = [
        CatalogueProcedure(
            code=p.procedure_code,
            name=p.name,
            levels=frozenset(p.levels),
            unit_codes=frozenset(p.unit_codes),
            online_service=p.online_service,
            has_fee=p.has_fee,
            for_individuals=p.for_individuals,
        )
        for p in await session.scalars(select(Procedure).order_by(Procedure.procedure_code))
    ]
    publications = [
        CataloguePublication(*row)
        for row in await session.execute(
            select(
                Publication.procedure_code,
                Publication.decision_date,
                Publication.legal_effective_date,
                Publication.published_at,
                Publication.components_complete,
            ).order_by(Publication.procedure_code, Publication.decision_date)
        )
    ]
    return Catalogue(tuple(units), tuple(procedures), tuple(publications))


async def units(session: AsyncSession, level: str | None = None) -> list[UnitRecord]:
    query = select(Unit.unit_code, Unit.name, Unit.level).order_by(Unit.unit_code)
    if level is not None:
        query = query.where(Unit.level == level)
    return [UnitRecord(*row) for row in await session.execute(query)]


async def unit(session: AsyncSession, code: str) -> UnitRecord | None:
    row = (
        await session.execute(
            select(Unit.unit_code, Unit.name, Unit.level).where(Unit.unit_code == code)
        )
    ).first()
    return UnitRecord(*row) if row else None


async def dossiers_in(
    session: AsyncSession, unit_code: str | None, basis: Basis, start: datetime, end: datetime
) -> list[Dossier]:
    """Dossiers that may count in a period: received in it, or (processing) received before its
    end and not finished before its start. The rules decide which do."""
    conditions = [Dossier.received_at < end, Dossier.outcome != DossierOutcome.NOT_COUNTED]
    if unit_code is not None:
        conditions.append(Dossier.unit_code == unit_code)
    if basis is Basis.RECEIPT:
        conditions.append(Dossier.received_at >= start)
    else:
        conditions.append(
            or_(
                Dossier.received_at >= start,
                Dossier.outcome.in_(IN_PROGRESS_OUTCOMES),
                Dossier.clock_stopped_at.is_(None),
                Dossier.clock_stopped_at >= start,
            )
        )
    rows = await session.scalars(
        select(Dossier).where(*conditions).order_by(Dossier.received_at, Dossier.dossier_code)
    )
    return list(rows)


async def feedback_in(
    session: AsyncSession, unit_code: str | None, received_from: datetime | None, end: datetime
) -> list[Feedback]:
    """Feedback that may count in a period: received before its end (and, unless
    `received_from` is None, not before that). The rules decide which do."""
    conditions = [Feedback.received_at < end]
    if received_from is not None:
        conditions.append(Feedback.received_at >= received_from)
    if unit_code is not None:
        conditions.append(Feedback.unit_code == unit_code)
    rows = await session.scalars(
        select(Feedback).where(*conditions).order_by(Feedback.received_at, Feedback.feedback_id)
    )
    return list(rows)
