"""Alerts over HTTP: the recent history and a Server-Sent Events stream. The alerts themselves are
recorded by scoring (dossiers) and by alerting (scores, the pipeline)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlalchemy import ColumnElement

from services.api import repository, schemas
from services.api.alert_tail import AlertTail
from services.api.deps import ReadsDep
from services.api.rendered import RenderedCache, holds, not_modified, respond
from shared.alerts import AlertKind, Level, from_row
from shared.errors import InvalidInput
from shared.events import CODE_PATTERN
from shared.models import AlertRow

router = APIRouter(tags=["alerts"])
# How long a stream waits for news before it asks the database again anyway.
STREAM_WAIT_SECONDS = 5.0
STREAM_BATCH = 500


@dataclass(frozen=True, slots=True)
class AlertFilter:
    units: list[str]
    kinds: list[AlertKind]
    level: Level

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [AlertRow.level.in_(self.level.at_least())]
        if self.units:
            conditions.append(AlertRow.unit_code.in_(self.units))
        if self.kinds:
            conditions.append(AlertRow.kind.in_([kind.value for kind in self.kinds]))
        return conditions


async def _filter(
    unit: Annotated[
        list[Annotated[str, Query(max_length=64, pattern=CODE_PATTERN)]],
        Query(max_length=200, description="Only these units' alerts (repeat for several)."),
    ] = [],  # noqa: B006 (FastAPI copies defaults)
    kind: Annotated[list[AlertKind], Query(max_length=20, description="Only these kinds.")] = [],  # noqa: B006
    level: Annotated[Level, Query(description="Only alerts this severe or more.")] = Level.INFO,
) -> AlertFilter:
    return AlertFilter(unit, kind, level)


FilterDep = Annotated[AlertFilter, Depends(_filter)]


@router.get(
    "/alerts",
    response_model=schemas.AlertPage,
    responses={304: {"description": "No alert recorded since the ETag given"}},
)
async def recent_alerts(
    request: Request,
    reads: ReadsDep,
    where: FilterDep,
    before: Annotated[
        int | None, Query(ge=1, le=schemas.MAX_ROW_ID, description="Only alerts before this seq.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> schemas.AlertPage | Response:
    """The recorded alerts, newest first. Its ETag moves when an alert is recorded: a poll with
    `If-None-Match` in between is answered from memory."""
    tail: AlertTail = request.app.state.alert_tail
    async with reads() as session:
        # Alerts become visible in seq order (their append lock) and are never changed: the
        # newest seq names every page, once the page is read up to it.
        top = tail.top if tail.listening else await repository.last_alert_seq(session)
        tag = f'W/"alerts.{top}"'
        if holds(request, tag):
            return not_modified(tag)

        async def page() -> schemas.AlertPage:
            conditions = [*where.conditions(), AlertRow.seq <= top]
            rows = await repository.alerts_before(session, conditions, before, limit)
            return schemas.AlertPage(
                items=[from_row(row) for row in rows],
                next_before=rows[-1].seq if len(rows) == limit else None,
            )

        cache: RenderedCache = request.app.state.rendered
        rendered = await cache.get_or_render(f"{tag}|{request.url.query}", page)
    return respond(request, rendered, tag)


async def _resume_point(
    after: Annotated[
        int | None,
        Query(
            ge=0,
            le=schemas.MAX_ROW_ID,
            description="Send the alerts after this seq (default: only new ones).",
        ),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(alias="Last-Event-ID", description="Resume after this alert (set by browsers)."),
    ] = None,
) -> int | None:
    """Where a stream starts: after `Last-Event-ID` if given, else after `after`."""
    if last_event_id is None:
        return after
    if not last_event_id.isdigit() or len(last_event_id) > 18:
        raise InvalidInput("Last-Event-ID must be the id (a seq) of an alert received")
    return int(last_event_id)


@router.get(
    "/alerts/stream",
    response_class=EventSourceResponse,
    responses={200: {"description": "`text/event-stream`: one event per alert, id = its seq"}},
)
async def alert_stream(
    request: Request,
    where: FilterDep,
    resume: Annotated[int | None, Depends(_resume_point)],
) -> AsyncIterable[ServerSentEvent]:
    """Alerts as Server-Sent Events: `event` is the kind, `id` the seq, `data` the alert.

    Reconnecting with `Last-Event-ID` (browsers do it by themselves) resumes with the first
    matching alert after that one: nothing missed, nothing repeated."""
    # A stream lasts for hours: it holds no transaction, only a short read at a time.
    sessions = request.app.state.sessions
    tail: AlertTail = request.app.state.alert_tail
    cursor = resume
    if cursor is None:
        async with sessions() as session:
            cursor = await repository.last_alert_seq(session)
    yield ServerSentEvent(comment="chiso766 alerts", retry=2000)
    while True:
        async with sessions() as session:
            top = await repository.last_alert_seq(session)
            rows = await repository.alerts_between(
                session, cursor, top, where.conditions(), STREAM_BATCH
            )
        for row in rows:
            yield ServerSentEvent(
                id=str(row.seq), event=row.kind, raw_data=from_row(row).as_json().decode()
            )
        # Past what matched, up to what was there: the next query starts after both.
        cursor = rows[-1].seq if len(rows) == STREAM_BATCH else max(cursor, top)
        if len(rows) < STREAM_BATCH:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STREAM_WAIT_SECONDS):
                    await tail.wait_beyond(cursor)
