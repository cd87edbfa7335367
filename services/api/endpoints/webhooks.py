"""Webhook subscriptions: always keyed (`webhooks:manage`), whatever the reads require; alerting
delivers to them. A URL that reaches inside the network is refused (`shared.webhook_targets`)."""

from __future__ import annotations

import contextlib
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.api import repository, schemas
from services.api.auth import Scope
from services.api.deps import ClockDep, SessionDep, require
from services.api.key_cache import KnownKey
from shared.alerts import DeliveryStatus
from shared.errors import NotFound
from shared.models import Webhook
from shared.webhook_targets import TargetPolicy, Unresolved

router = APIRouter(tags=["webhooks"])
KeyDep = Annotated[KnownKey, Depends(require(Scope.WEBHOOKS))]
ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": schemas.ErrorOut, "description": "No valid API key"},
    403: {"model": schemas.ErrorOut, "description": "The key lacks webhooks:manage"},
    404: {"model": schemas.ErrorOut, "description": "No such subscription of this key"},
}


async def _out(session: AsyncSession, webhook: Webhook) -> schemas.WebhookOut:
    counts = await repository.delivery_counts(session, webhook.webhook_id)
    return schemas.WebhookOut(
        webhook_id=webhook.webhook_id,
        url=webhook.url,
        units=webhook.units,
        kinds=webhook.kinds,
        min_level=webhook.min_level,
        created_at=webhook.created_at,
        pending=counts.get(DeliveryStatus.PENDING, 0),
        failed=counts.get(DeliveryStatus.FAILED, 0),
    )


async def _own(session: AsyncSession, key: KnownKey, webhook_id: str) -> Webhook:
    webhook = await repository.webhook(session, webhook_id)
    if webhook is None or webhook.deleted_at is not None or webhook.owner_key_id != key.key_id:
        raise NotFound(f"no subscription {webhook_id!r} of this key")
    return webhook


@router.post(
    "/webhooks",
    status_code=201,
    response_model=schemas.WebhookCreated,
    responses={**ERRORS, 422: {"description": "Invalid, or a URL inside the network"}},
)
async def create_webhook(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    key: KeyDep,
    subscription: schemas.WebhookIn,
) -> schemas.WebhookCreated:
    """Subscribe a URL to the alerts recorded from now on that match the filters."""
    targets: TargetPolicy = request.app.state.webhook_targets
    with contextlib.suppress(Unresolved):  # it may not exist yet: each delivery checks again
        await targets.check(str(subscription.url))
    webhook = Webhook(
        webhook_id=f"wh_{secrets.token_hex(8)}",
        url=str(subscription.url),
        secret=f"whsec_{secrets.token_urlsafe(32)}",
        units=subscription.units,
        kinds=[kind.value for kind in subscription.kinds],
        min_level=subscription.min_level.value,
        owner_key_id=key.key_id,
        last_seq=await repository.last_alert_seq(session),
        created_at=clock.now(),
    )
    await repository.add(session, webhook)
    out = await _out(session, webhook)
    return schemas.WebhookCreated(**out.model_dump(), secret=webhook.secret)


@router.get("/webhooks", response_model=list[schemas.WebhookOut], responses=ERRORS)
async def list_webhooks(session: SessionDep, key: KeyDep) -> list[schemas.WebhookOut]:
    """This key's subscriptions."""
    return [await _out(session, row) for row in await repository.webhooks_of(session, key.key_id)]


@router.get("/webhooks/{webhook_id}", response_model=schemas.WebhookOut, responses=ERRORS)
async def get_webhook(session: SessionDep, key: KeyDep, webhook_id: str) -> schemas.WebhookOut:
    return await _out(session, await _own(session, key, webhook_id))


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=ERRORS)
async def delete_webhook(
    session: SessionDep, clock: ClockDep, key: KeyDep, webhook_id: str
) -> Response:
    """Stop delivering; the pending deliveries are cancelled, the log is kept."""
    webhook = await _own(session, key, webhook_id)
    webhook.deleted_at = clock.now()
    await repository.cancel_pending(session, webhook_id)
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook_id}/deliveries", response_model=schemas.DeliveryPage, responses=ERRORS
)
async def webhook_deliveries(
    session: SessionDep,
    key: KeyDep,
    webhook_id: str,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    before: Annotated[
        int | None,
        Query(ge=1, le=schemas.MAX_ROW_ID, description="Only deliveries before this id."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> schemas.DeliveryPage:
    """The delivery log, newest first: each attempt's answer or error, and where it stands."""
    await _own(session, key, webhook_id)
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
        for delivery, alert_id in await repository.deliveries(
            session, webhook_id, status, before, limit
        )
    ]
    return schemas.DeliveryPage(
        items=items, next_before=items[-1].delivery_id if len(items) == limit else None
    )


@router.post(
    "/webhooks/{webhook_id}/deliveries/retry", response_model=schemas.Retried, responses=ERRORS
)
async def retry_failed_deliveries(
    session: SessionDep, clock: ClockDep, key: KeyDep, webhook_id: str
) -> schemas.Retried:
    """Try the failed deliveries again (e.g. once a receiver that was down for long is back)."""
    await _own(session, key, webhook_id)
    return schemas.Retried(requeued=await repository.retry_failed(session, webhook_id, clock.now()))
