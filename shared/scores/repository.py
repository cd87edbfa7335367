"""The queries scores are made of: indexed reads of what scoring maintains."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Text, and_, cast, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from shared.db import driver_connection
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
from shared.rules.members import NOT_TRUE, TRUTHY, Basis, Narrowing
from shared.rules.ontime import OVERDUE_OUTCOMES, DossierOutcome


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


_PERIOD_COUNTS = (
    f"SELECT unit_code, indicator_id, sum(numerator)::bigint, sum(denominator)::bigint"
    f" FROM {IndicatorCount.__tablename__} WHERE period_key = $1 GROUP BY unit_code, indicator_id"
)


async def period_counts(session: AsyncSession, period_key: str) -> PeriodCounts:
    """A period's counts, summed over the scoring partitions.

    Read with the session's asyncpg connection itself: a period has thousands of rows (every
    activity cell), read again at each version move on the api's event loop, and SQLAlchemy's
    row processing cost several times asyncpg's own for them."""
    raw = await (await session.connection()).get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None  # a live checked-out connection has its driver's
    rows = await driver.fetch(_PERIOD_COUNTS, period_key)
    return split_counts(rows)


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


# -- the subjects behind a number --------------------------------------------------------------
#
# A period's members are found among its candidates: every subject the rules could count in it,
# a superset the rules then decide on. Candidates come in the lists' order, (received_at, key),
# a page at a time after a key, each part of them by an index that reads no more than it yields:
# - received in the period: (unit_code, received_at, key), or (received_at, key) for the province;
# - (processing basis) received before the period and still open: those with a transition ahead
#   of them (`next_transition_at`, which every unfinished subject has), by partial indexes in
#   the same order;
# - (processing basis) received before the period and finished: a finished subject's end is one
#   of its status steps, so those that may have finished during or after the period are those
#   whose span from receipt to the latest step holds its start: a GiST index of that span
#   answers "which spans hold this instant" without reading the subjects finished long before.

Subject = type[Dossier] | type[Feedback]
# The position of a subject in a list: (received_at, its code).
Key = tuple[datetime, str]
# A candidate's columns, received_at and the code first.
Candidate = Row[Any]


def key_of(row: Candidate) -> Key:
    values: tuple[Any, ...] = tuple(row)
    return values[0], values[1]


def _key_column(model: Subject) -> InstrumentedAttribute[str]:
    return Dossier.dossier_code if model is Dossier else Feedback.feedback_id


def finished_span(model: Subject) -> ColumnElement[Any]:
    """From receipt to the end of processing (`shared.models.FINISHED_SPAN`), indexed by GiST for
    the subjects with no transition ahead: it holds the instants a finished subject was being
    processed at."""
    return func.tstzrange(
        model.received_at,
        func.greatest(model.received_at, model.ended_at),
        "[]",
    )


def _after(model: Subject, after: Key | None) -> list[ColumnElement[bool]]:
    if after is None:
        return []
    return [tuple_(model.received_at, _key_column(model)) > tuple_(*after)]


def _register(name: str, value: str) -> ColumnElement[bool]:
    """A stored dossier's register `name` (`{"f": {name: [value, stamp]}}`) holds `value`, or
    may (`TRUTHY`, `NOT_TRUE`: a superset of what `bool` reads as such)."""
    text: ColumnElement[str] = Dossier.state["f"][name][0].astext
    if value == TRUTHY:
        return func.coalesce(text, "false") != "false"
    if value == NOT_TRUE:
        return func.coalesce(text, "") != "true"
    return text == value


def _narrowed(model: Subject, narrowing: Narrowing | None) -> list[ColumnElement[bool]]:
    if narrowing is None or model is not Dossier:
        return []
    if narrowing.overdue and not narrowing.registers:
        # Alone, by its own partial indexes (`ix_dossiers_*overdue_listing`).
        return [Dossier.outcome.in_(OVERDUE_OUTCOMES)]
    either = [_register(name, value) for name, value in narrowing.registers]
    if narrowing.overdue:
        either.append(Dossier.outcome.in_(OVERDUE_OUTCOMES))
    return [or_(*either)]


def _can_count(model: Subject) -> list[ColumnElement[bool]]:
    if model is not Dossier:
        return []
    # Never accepted, and nothing ahead that could change it: in no count.
    return [
        or_(
            Dossier.outcome != DossierOutcome.NOT_COUNTED,
            Dossier.next_transition_at.is_not(None),
        )
    ]


async def candidates(
    session: AsyncSession,
    columns: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]],
    model: Subject,
    unit_code: str | None,
    basis: Basis,
    start: datetime,
    end: datetime,
    after: Key | None,
    limit: int,
    narrowing: Narrowing | None = None,
) -> list[Candidate]:
    """The next `limit` candidates of a period after `after`, in (received_at, key) order; the
    rules decide which of them count. `columns` must begin with received_at and the key.
    `narrowing`: only the dossiers that may be in a sparse part (`shared.rules.members`)."""
    order = (model.received_at, _key_column(model))
    owned = [] if unit_code is None else [model.unit_code == unit_code]
    owned.extend(_narrowed(model, narrowing))
    rows: list[Candidate] = []
    if basis is Basis.PROCESSING and (after is None or after[0] < start):
        before = [model.received_at < start, *owned, *_after(model, after)]
        open_ = select(*columns).where(model.next_transition_at.is_not(None), *before)
        # The span's matches are sorted, not read in order: their keys first, so that only the
        # page's states are read.
        finished = (
            select(_key_column(model).label("key"))
            .where(
                model.next_transition_at.is_(None),
                model.received_at.is_not(None),
                finished_span(model).op("@>")(start),
                *_can_count(model),
                *before,
            )
            .order_by(*order)
            .limit(limit)
            .subquery()
        )
        parts = [
            list(await session.execute(query))
            for query in (
                open_.order_by(*order).limit(limit),
                select(*columns)
                .join(finished, _key_column(model) == finished.c.key)
                .order_by(*order),
            )
        ]
        rows = list(heapq.merge(*parts, key=key_of))[:limit]
        if len(rows) == limit:
            return rows
        after = None
    received = select(*columns).where(
        model.received_at >= start,
        model.received_at < end,
        *owned,
        *_can_count(model),
        *_after(model, after),
    )
    rows.extend(await session.execute(received.order_by(*order).limit(limit - len(rows))))
    return rows


async def states_of_range(
    session: AsyncSession,
    model: Subject,
    basis: Basis,
    start: datetime,
    end: datetime,
    size: int,
    unfinished_at_end: bool = False,
) -> AsyncIterator[list[str]]:
    """Every candidate of a range (all units), as the JSON text of its state, `size` at a time
    as the database sends them (a server-side cursor): what the range's counts are computed
    from, in worker processes, while the next ones arrive. `unfinished_at_end`: only those that
    may not have finished by the range's end (what its day counts leave out,
    `shared.rules.contributions.unsettled_in`): still open, or finished at or after its end (the
    GiST index of the spans holding an instant)."""
    text_state = cast(model.state, Text)
    may_count = [model.received_at < end, *_can_count(model)]
    if unfinished_at_end:
        may_count.append(_unfinished_at(model, end))
        if model is Dossier:
            # The others are counted in the database (`unsettled_counts`).
            may_count.append(Dossier.disliked.is_(None))
    elif basis is Basis.RECEIPT:
        may_count.append(model.received_at >= start)
    else:
        may_count.append(or_(model.received_at >= start, _unfinished_at(model, start)))
    query = select(text_state).where(*may_count).execution_options(yield_per=size)
    result = await session.stream_scalars(query)
    async for part in result.partitions(size):
        yield list(part)


def _unfinished_at(model: Subject, instant: datetime) -> ColumnElement[bool]:
    """Still open, or finished at or after `instant` (the span of those holding it)."""
    return or_(
        model.next_transition_at.is_not(None),
        and_(
            model.next_transition_at.is_(None),
            model.received_at.is_not(None),
            finished_span(model).op("@>")(instant),
        ),
    )


async def unsettled_counts(session: AsyncSession, end: datetime) -> list[tuple[str, int, int, int]]:
    """(unit, counted, on time, satisfied) at `end` of the accepted dossiers received before it
    and not finished by it, whose counts there `end` alone decides (`dossiers.disliked` known,
    `shared.rules.contributions.OnTimeUntil`): what a range ended at `end` leaves out of its day
    counts, but for the dossiers whose states must be read (`states_of_range`)."""
    on_time = or_(Dossier.overdue_from.is_(None), Dossier.overdue_from > end)
    query = (
        select(
            Dossier.unit_code,
            func.count(),
            func.count().filter(on_time),
            func.count().filter(and_(on_time, Dossier.disliked.is_(False))),
        )
        .where(
            Dossier.received_at < end,
            Dossier.unit_code.is_not(None),
            # Known for accepted dossiers only.
            Dossier.disliked.is_not(None),
            _unfinished_at(Dossier, end),
        )
        .group_by(Dossier.unit_code)
    )
    return [
        (str(unit), int(counted), int(on_time), int(satisfied))
        for unit, counted, on_time, satisfied in await session.execute(query)
    ]


_SUMMED_COUNTS = """
SELECT unit_code, indicator_id, sum(numerator)::bigint, sum(denominator)::bigint
FROM indicator_counts WHERE period_key = ANY($1::text[]) GROUP BY unit_code, indicator_id
"""


async def summed_counts(
    session: AsyncSession, period_keys: Sequence[str]
) -> dict[tuple[str, str], list[int]]:
    """{(unit, indicator or activity cell): [numerator, denominator]} kept for several periods
    (a range's days), summed over them and over the scoring partitions: tens of thousands of
    rows, read by the driver itself (SQLAlchemy's rows cost more than the query)."""
    connection = await driver_connection(session)
    return {
        (unit, indicator): [numerator, denominator]
        for unit, indicator, numerator, denominator in await connection.fetch(
            _SUMMED_COUNTS, list(period_keys)
        )
    }


async def cell(
    session: AsyncSession, period_key: str, unit_code: str, indicator_id: str
) -> Ratio | None:
    """One kept count, summed over the scoring partitions (None if nothing was ever counted)."""
    row = (
        await session.execute(
            select(func.sum(IndicatorCount.numerator), func.sum(IndicatorCount.denominator)).where(
                IndicatorCount.period_key == period_key,
                IndicatorCount.unit_code == unit_code,
                IndicatorCount.indicator_id == indicator_id,
            )
        )
    ).one()
    numerator, denominator = row
    return None if denominator is None else Ratio(int(numerator), int(denominator))
