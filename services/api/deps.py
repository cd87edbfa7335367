"""What a route declares it needs, as `Annotated` dependencies: the request's transaction, the
clock, a period and a known unit read from the parameters, a methodology's score board, a key
with a scope.

Dependencies are coroutines even where they do not wait: FastAPI runs a plain function in a
thread, which costs more than most of them do.

The request's session is the one transaction of the request: it begins before the route, commits
once the route returns (before the response is sent, so a failed commit is a failed request) and
rolls back if anything raised. Routes and services only `flush()`.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

import orjson
from fastapi import Depends, Path, Query, Request
from fastapi.security import APIKeyHeader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.auth import Scope, authorize
from services.api.key_cache import KeyCache, KnownKey
from services.api.settings import ApiSettings
from shared.clock import Clock
from shared.errors import InvalidInput, NotFound, UnknownMethodology
from shared.kafka import Publisher
from shared.methodology import Methodologies, Methodology
from shared.periods import Calendar, Period
from shared.rules.members import Part
from shared.scores.board import CatalogueCache, ScoreBoard
from shared.scores.history import View, period_on
from shared.scores.repository import UnitRecord
from shared.workdays import WorkingCalendar


async def _transaction(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions.begin() as session:
        yield session


# `scope="function"`: the commit happens before the response leaves, never after.
SessionDep = Annotated[AsyncSession, Depends(_transaction, scope="function")]


async def _reads(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


# For reads that memory may answer: `async with reads() as session`, which connects only if a
# query runs (the request's transaction above costs a fifth of a 304 in FastAPI's machinery).
ReadsDep = Annotated[async_sessionmaker[AsyncSession], Depends(_reads)]


async def _settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


async def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def _calendar(request: Request) -> Calendar:
    calendar: Calendar = request.app.state.calendar
    return calendar


async def _workdays(request: Request) -> WorkingCalendar:
    workdays: WorkingCalendar = request.app.state.workdays
    return workdays


async def _publisher(request: Request) -> Publisher:
    publisher: Publisher = request.app.state.publisher
    return publisher


SettingsDep = Annotated[ApiSettings, Depends(_settings)]
ClockDep = Annotated[Clock, Depends(_clock)]
CalendarDep = Annotated[Calendar, Depends(_calendar)]
WorkdaysDep = Annotated[WorkingCalendar, Depends(_workdays)]
PublisherDep = Annotated[Publisher, Depends(_publisher)]

MethodologyParam = Annotated[
    str | None,
    Query(
        description="A methodology version to score with (default: the configured one)",
        examples=["qd766-portal-2026"],
        max_length=64,
    ),
]


def methodology_named(request: Request, version: str | None) -> Methodology:
    methodologies: Methodologies = request.app.state.methodologies
    try:
        return methodologies.get(version)
    except LookupError as error:
        raise UnknownMethodology(str(error)) from None


async def _methodology(request: Request, methodology: MethodologyParam = None) -> Methodology:
    return methodology_named(request, methodology)


MethodologyDep = Annotated[Methodology, Depends(_methodology)]


async def _board(request: Request, methodology: MethodologyDep) -> ScoreBoard:
    """Scores under the chosen methodology: the same counts, other points."""
    board: ScoreBoard = request.app.state.boards[methodology.version]
    return board


BoardDep = Annotated[ScoreBoard, Depends(_board)]

PeriodParam = Annotated[
    str,
    Query(
        description="week, month, quarter, half or year for the current one, a key: "
        "2026-W48, 2026-11, 2026-Q4, 2026-H2, 2026, or a range of days (at most 366; computed "
        "when asked, so poll the named periods): 2026-11-03..2026-11-17",
        examples=["week", "2026-W48", "2026-11-03..2026-11-17"],
        max_length=32,
    ),
]


async def _period(calendar: CalendarDep, clock: ClockDep, period: PeriodParam = "month") -> Period:
    return calendar.resolve(period, clock.now())


async def _period_if_given(
    calendar: CalendarDep,
    clock: ClockDep,
    period: Annotated[
        str | None,
        Query(description="Only dossiers still being processed in this period", max_length=32),
    ] = None,
) -> Period | None:
    return None if period is None else calendar.resolve(period, clock.now())


PeriodDep = Annotated[Period, Depends(_period)]
PeriodIfGivenDep = Annotated[Period | None, Depends(_period_if_given)]


async def _unit(
    request: Request,
    reads: ReadsDep,
    code: Annotated[str, Path(description="A unit's code")],
) -> UnitRecord:
    catalogue: CatalogueCache = request.app.state.catalogue
    async with reads() as session:
        unit = await catalogue.unit(session, request.app.state.live, code)
    if unit is None:
        raise NotFound(f"unknown unit {code!r}")
    return unit


UnitDep = Annotated[UnitRecord, Depends(_unit)]


@dataclass(frozen=True, slots=True)
class Paging:
    """Which part of a list a page shows, and where the page starts: after the `cursor` a
    previous page gave (keyset: each page an index read of its own length), or, deprecated, at
    a page number (the pages before it are read and skipped)."""

    part: Part
    page_size: int
    # The position of the last item of the previous page, as `Cursor` encodes it.
    after: tuple[str | None, ...] | None = None
    page: int | None = None

    @property
    def skip(self) -> int:
        """Members to read past before the page: only for the deprecated page numbers."""
        return 0 if self.page is None else (self.page - 1) * self.page_size


class Cursor:
    """An opaque position in a list: the key of the last item shown, as URL-safe base64 of its
    JSON. What the key holds is each list's business (`parts` checks its shape)."""

    @staticmethod
    def encode(key: tuple[str | None, ...]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")

    @staticmethod
    def decode(cursor: str) -> tuple[str | None, ...]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            key = orjson.loads(raw)
        except (ValueError, orjson.JSONDecodeError):
            raise InvalidInput("cursor: not one this api gave (use a page's next_cursor)") from None
        if not isinstance(key, list) or not all(isinstance(k, str | None) for k in key):
            raise InvalidInput("cursor: not one this api gave (use a page's next_cursor)")
        return tuple(key)


def key_parts(after: tuple[str | None, ...], *kinds: type[datetime] | type[str]) -> list[Any]:
    """A decoded cursor as a list's key: each part a datetime or a string (None allowed where
    the list's order has nulls); a 422 when the cursor is not shaped like this list's keys."""
    if len(after) != len(kinds):
        raise InvalidInput("cursor: not one of this list (use its own next_cursor)")
    parts: list[Any] = []
    for value, kind in zip(after, kinds, strict=True):
        if value is None or kind is str:
            parts.append(value)
            continue
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput("cursor: not one of this list (use its own next_cursor)") from None
        if instant.tzinfo is None:
            raise InvalidInput("cursor: not one of this list (use its own next_cursor)")
        parts.append(instant)
    return parts


CursorParam = Annotated[
    str | None,
    Query(
        description="Where the page starts: the `next_cursor` of the page before (omit for the "
        "first page). Opaque; every page costs the same, however deep.",
        max_length=512,
    ),
]
PageParam = Annotated[
    int | None,
    Query(
        ge=1,
        le=100_000,
        deprecated=True,
        description="Deprecated: follow `next_cursor` instead. A page number reads and skips "
        "every item before it, so deep pages cost more; not with `cursor`.",
    ),
]
PageSizeParam = Annotated[int, Query(ge=1, le=500)]


def paging(part: Part, page_size: int, cursor: str | None, page: int | None) -> Paging:
    if cursor is not None and page is not None:
        raise InvalidInput("give cursor or page, not both")
    after = None if cursor is None else Cursor.decode(cursor)
    return Paging(part, page_size, after, page)


async def _paging(
    cursor: CursorParam = None,
    part: Annotated[
        Part,
        Query(
            description="denominator (every member), numerator (those it counts as done) or "
            "shortfall (in the denominator, not the numerator: what the unit has to fix)"
        ),
    ] = Part.DENOMINATOR,
    page: PageParam = None,
    page_size: PageSizeParam = 50,
) -> Paging:
    return paging(part, page_size, cursor, page)


PagingDep = Annotated[Paging, Depends(_paging)]


@dataclass(frozen=True, slots=True)
class Audit:
    """What a list behind a number is asked for: a unit's indicator in a period, one page."""

    unit: UnitRecord
    indicator: str
    period: Period
    paging: Paging


async def _audit(
    unit: UnitDep,
    indicator_id: Annotated[str, Path(description="An indicator's id", examples=["2.1"])],
    period: PeriodDep,
    paging: PagingDep,
) -> Audit:
    return Audit(unit, indicator_id, period, paging)


AuditDep = Annotated[Audit, Depends(_audit)]

_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="c766_<id>_<secret>")
PresentedKey = Annotated[str | None, Depends(_KEY_HEADER)]


async def _keys(request: Request) -> KeyCache:
    keys: KeyCache = request.app.state.keys
    return keys


KeysDep = Annotated[KeyCache, Depends(_keys)]


def require(scope: Scope) -> Callable[..., Awaitable[KnownKey]]:
    """A dependency: the request's API key, checked for `scope`."""

    async def dependency(keys: KeysDep, presented: PresentedKey) -> KnownKey:
        return await authorize(keys, presented, scope)

    return dependency


async def read_access(settings: SettingsDep, keys: KeysDep, presented: PresentedKey) -> None:
    """Of the read routes: open, unless the deployment asks for keys with the scope `read`."""
    if settings.api_read_key_required:
        await authorize(keys, presented, Scope.READ)


AsOfParam = Annotated[
    date | None,
    Query(
        description="A closed local day: the period as it stood at the end of that day, from "
        "the history (a kind names the period running that day)",
        examples=["2026-11-20"],
    ),
]
ViewParam = Annotated[
    View,
    Query(
        description="recorded: as the day's end showed it; restated: with the events applied "
        "since that occurred before its end"
    ),
]


@dataclass(frozen=True, slots=True)
class PeriodAt:
    """A period, now (`day` None) or as it stood at the end of a closed day."""

    period: Period
    day: date | None


async def _period_at(
    calendar: CalendarDep,
    clock: ClockDep,
    period: PeriodParam = "month",
    as_of: AsOfParam = None,
) -> PeriodAt:
    if as_of is None:
        return PeriodAt(calendar.resolve(period, clock.now()), None)
    return PeriodAt(period_on(calendar, period, as_of), as_of)


PeriodAtDep = Annotated[PeriodAt, Depends(_period_at)]
