"""Alerts over HTTP: the recent history, a Server-Sent Events stream, and webhook subscriptions.

The alerts themselves are recorded by scoring and by the alerting process; these routes read them,
and manage the subscriptions the alerting process delivers to.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.api import schemas
from services.api.alerting import webhooks
from services.api.alerting.tail import AlertTail
from services.api.auth import Scope, require
from services.api.endpoints import ClockDep, SessionDep
from shared import alerts
from shared.alerts import AlertKind, Level, from_row
from shared.events import CODE_PATTERN
from shared.models import Alert, ApiKey, Webhook, WebhookDelivery

router = APIRouter(tags=["alerts"])
# Subscriptions are always keyed (webhooks:manage), whatever the reads require.
webhooks_router = APIRouter(tags=["webhooks"])

AUTH_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": schemas.ErrorOut, "description": "No valid API key"},
    403: {"model": schemas.ErrorOut, "description": "The key lacks webhooks:manage"},
    404: {"model": schemas.ErrorOut, "description": "No such subscription of this key"},
}
# How long a stream waits for news before it asks the database again anyway.
STREAM_WAIT_SECONDS = 5.0
STREAM_BATCH = 500


@dataclass(frozen=True, slots=True)
class AlertFilter:
    units: list[str]
    kinds: list[AlertKind]
    level: Level

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [Alert.level.in_(self.level.at_least())]
        if self.units:
            conditions.append(Alert.unit_code.in_(self.units))
        if self.kinds:
            conditions.append(Alert.kind.in_([kind.value for kind in self.kinds]))
        return conditions


def get_filter(
    unit: Annotated[
        list[Annotated[str, Query(max_length=64, pattern=CODE_PATTERN)]],
        Query(max_length=200, description="Only these units' alerts (repeat for several)."),
    ] = [],  # noqa: B006 (FastAPI copies defaults)
    kind: Annotated[list[AlertKind], Query(max_length=20, description="Only these kinds.")] = [],  # noqa: B006
    level: Annotated[Level, Query(description="Only alerts this severe or more.")] = Level.INFO,
) -> AlertFilter:
    return AlertFilter(unit, kind, level)


FilterDep = Annotated[AlertFilter, Depends(get_filter)]
KeyDep = Annotated[ApiKey, Depends(require(Scope.WEBHOOKS))]


@router.get("/alerts", response_model=schemas.AlertPage)
async def recent_alerts(
    session: SessionDep,
    where: FilterDep,
    before: Annotated[
        int | None, Query(ge=1, le=schemas.MAX_ROW_ID, description="Only alerts before this seq.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> schemas.AlertPage:
    """The recorded alerts, newest first."""
    query = select(Alert).where(*where.conditions())
    if before is not None:
        query = query.where(Alert.seq < before)
    rows = list(await session.scalars(query.order_by(Alert.seq.desc()).limit(limit)))
    return schemas.AlertPage(
        items=[from_row(row) for row in rows],
        next_before=rows[-1].seq if len(rows) == limit else None,
    )


def get_resume_point(
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
        raise HTTPException(422, "Last-Event-ID must be the id (a seq) of an alert received")
    return int(last_event_id)


@router.get(
    "/alerts/stream",
    response_class=EventSourceResponse,
    responses={200: {"description": "`text/event-stream`: one event per alert, id = its seq"}},
)
async def alert_stream(
    request: Request,
    where: FilterDep,
    resume: Annotated[int | None, Depends(get_resume_point)],
) -> AsyncIterable[ServerSentEvent]:
    """Alerts as Server-Sent Events: `event` is the kind, `id` the seq, `data` the alert.

    Reconnecting with `Last-Event-ID` (browsers do it by themselves) resumes with the first
    matching alert after that one: nothing missed, nothing repeated."""
    sessions = request.app.state.sessions
    tail: AlertTail = request.app.state.alert_tail
    cursor = resume
    if cursor is None:
        async with sessions() as session:
            cursor = await alerts.last_seq(session)
    yield ServerSentEvent(comment="chiso766 alerts", retry=2000)
    while True:
        async with sessions() as session:
            top = await alerts.last_seq(session)
            rows = list(
                await session.scalars(
                    _after(cursor, top, where).order_by(Alert.seq).limit(STREAM_BATCH)
                )
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


def _after(cursor: int, top: int, where: AlertFilter) -> Select[Alert]:
    return select(Alert).where(Alert.seq > cursor, Alert.seq <= top, *where.conditions())


async def _webhook_out(session: AsyncSession, webhook: Webhook) -> schemas.WebhookOut:
    rows = await session.execute(
        select(WebhookDelivery.status, func.count())
        .where(
            WebhookDelivery.webhook_id == webhook.webhook_id,
            WebhookDelivery.status.in_(["pending", "failed"]),
        )
        .group_by(WebhookDelivery.status)
    )
    counts: dict[str, int] = {row[0]: row[1] for row in rows.all()}
    return schemas.WebhookOut(
        webhook_id=webhook.webhook_id,
        url=webhook.url,
        units=webhook.units,
        kinds=webhook.kinds,
        min_level=webhook.min_level,
        created_at=webhook.created_at,
        pending=counts.get("pending", 0),
        failed=counts.get("failed", 0),
    )


async def _own_webhook(session: AsyncSession, key: ApiKey, webhook_id: str) -> Webhook:
    webhook = await session.get(Webhook, webhook_id)
    if webhook is None or webhook.deleted_at is not None or webhook.owner_key_id != key.key_id:
        raise HTTPException(404, f"no subscription {webhook_id!r} of this key")
    return webhook


@webhooks_router.post(
    "/webhooks", status_code=201, response_model=schemas.WebhookCreated, responses=AUTH_ERRORS
)
async def create_webhook(
    session: SessionDep, clock: ClockDep, key: KeyDep, subscription: schemas.WebhookIn
) -> schemas.WebhookCreated:
    """Subscribe a URL to the alerts recorded from now on that match the filters."""
    now = clock.now()
    webhook = Webhook(
        webhook_id=f"wh_{secrets.token_hex(8)}",
        url=str(subscription.url),
        secret=f"whsec_{secrets.token_urlsafe(32)}",
        units=subscription.units,
        kinds=[kind.value for kind in subscription.kinds],
        min_level=subscription.min_level.value,
        owner_key_id=key.key_id,
        last_seq=await alerts.last_seq(session),
        created_at=now,
    )
    session.add(webhook)
    await session.commit()
    out = await _webhook_out(session, webhook)
    return schemas.WebhookCreated(**out.model_dump(), secret=webhook.secret)


@webhooks_router.get("/webhooks", response_model=list[schemas.WebhookOut], responses=AUTH_ERRORS)
async def list_webhooks(session: SessionDep, key: KeyDep) -> list[schemas.WebhookOut]:
    """This key's subscriptions."""
    rows = await session.scalars(
        select(Webhook)
        .where(Webhook.owner_key_id == key.key_id, Webhook.deleted_at.is_(None))
        .order_by(Webhook.created_at)
    )
    return [await _webhook_out(session, row) for row in rows]


@webhooks_router.get(
    "/webhooks/{webhook_id}", response_model=schemas.WebhookOut, responses=AUTH_ERRORS
)
async def get_webhook(session: SessionDep, key: KeyDep, webhook_id: str) -> schemas.WebhookOut:
    return await _webhook_out(session, await _own_webhook(session, key, webhook_id))


@webhooks_router.delete("/webhooks/{webhook_id}", status_code=204, responses=AUTH_ERRORS)
async def delete_webhook(
    session: SessionDep, clock: ClockDep, key: KeyDep, webhook_id: str
) -> Response:
    """Stop delivering; the pending deliveries are cancelled, the log is kept."""
    webhook = await _own_webhook(session, key, webhook_id)
    webhook.deleted_at = clock.now()
    await webhooks.cancel_pending(session, webhook_id)
    await session.commit()
    return Response(status_code=204)


@webhooks_router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=schemas.DeliveryPage,
    responses=AUTH_ERRORS,
)
async def webhook_deliveries(
    session: SessionDep,
    key: KeyDep,
    webhook_id: str,
    status: Annotated[
        Literal["pending", "delivered", "failed", "cancelled"] | None, Query()
    ] = None,
    before: Annotated[
        int | None,
        Query(ge=1, le=schemas.MAX_ROW_ID, description="Only deliveries before this id."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> schemas.DeliveryPage:
    """The delivery log, newest first: each attempt's answer or error, and where it stands."""
    await _own_webhook(session, key, webhook_id)
    query = (
        select(WebhookDelivery, Alert.alert_id)
        .join(Alert, Alert.seq == WebhookDelivery.alert_seq)
        .where(WebhookDelivery.webhook_id == webhook_id)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if before is not None:
        query = query.where(WebhookDelivery.delivery_id < before)
    rows = (
        await session.execute(query.order_by(WebhookDelivery.delivery_id.desc()).limit(limit))
    ).all()
    items = [
        schemas.DeliveryOut(
            delivery_id=delivery.delivery_id,
            alert_seq=delivery.alert_seq,
            alert_id=alert_id,
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            delivered_at=delivery.delivered_at,
            log=[schemas.DeliveryAttempt.model_validate(entry) for entry in delivery.log],
        )
        for delivery, alert_id in rows
    ]
    return schemas.DeliveryPage(
        items=items, next_before=items[-1].delivery_id if len(items) == limit else None
    )


@webhooks_router.post(
    "/webhooks/{webhook_id}/deliveries/retry",
    response_model=schemas.Retried,
    responses=AUTH_ERRORS,
)
async def retry_failed_deliveries(
    session: SessionDep, clock: ClockDep, key: KeyDep, webhook_id: str
) -> schemas.Retried:
    """Try the failed deliveries again (e.g. once a receiver that was down for long is back)."""
    await _own_webhook(session, key, webhook_id)
    requeued = await webhooks.retry_failed(session, webhook_id, clock.now())
    await session.commit()
    return schemas.Retried(requeued=requeued)
