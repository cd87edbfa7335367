"""Webhook deliveries: every alert a subscription matches is POSTed to it, signed, until it
answers 2xx or the attempts run out.

Two steps, each in its own transaction: `fan_out` gives each subscription a delivery row per
matching alert recorded since its cursor (one row per subscription and alert, by a unique key), and
`send_due` attempts the deliveries whose time has come, retrying with exponential backoff. Rows
are claimed with `SKIP LOCKED`, so several dispatchers share the work without sending one delivery
twice at once.

The signature is HMAC-SHA256, keyed with the subscription's secret, over `<timestamp>.<body>`:
a receiver recomputes it, compares in constant time, and refuses old timestamps (replays).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.alerts import Level, from_row
from shared.models import Alert, Webhook, WebhookDelivery

log = structlog.get_logger()

SIGNATURE_HEADER = "X-C766-Signature"
TIMESTAMP_HEADER = "X-C766-Timestamp"
ALERT_ID_HEADER = "X-C766-Alert-Id"
DELIVERY_HEADER = "X-C766-Delivery-Id"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 10
    first_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(hours=1)

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt: 5 s, 10 s, 20 s, ... up to the cap."""
        delay: timedelta = self.first_delay * 2 ** min(attempts - 1, 30)
        return min(self.max_delay, delay)


@dataclass(frozen=True, slots=True)
class _Due:
    delivery: WebhookDelivery
    url: str
    secret: str
    body: bytes
    alert_id: str


class Dispatcher:
    def __init__(self, client: httpx.AsyncClient, policy: RetryPolicy, batch_size: int = 50):
        self.client = client
        self.policy = policy
        self.batch_size = batch_size

    async def fan_out(self, session: AsyncSession, now: datetime) -> int:
        """Delivery rows for the alerts recorded since each subscription's cursor."""
        top = int(await session.scalar(select(func.coalesce(func.max(Alert.seq), 0))) or 0)
        webhooks = await session.scalars(
            select(Webhook)
            .where(Webhook.deleted_at.is_(None), Webhook.last_seq < top)
            .with_for_update(skip_locked=True)
        )
        created = 0
        for webhook in webhooks:
            matching = select(
                literal(webhook.webhook_id),
                Alert.seq,
                literal("pending"),
                literal(0),
                literal(now),
                literal(now),
                literal([], WebhookDelivery.log.type),
            ).where(
                Alert.seq > webhook.last_seq,
                Alert.seq <= top,
                Alert.level.in_(Level(webhook.min_level).at_least()),
                *([Alert.unit_code.in_(webhook.units)] if webhook.units else []),
                *([Alert.kind.in_(webhook.kinds)] if webhook.kinds else []),
            )
            result = await session.execute(
                insert(WebhookDelivery)
                .from_select(
                    [
                        "webhook_id",
                        "alert_seq",
                        "status",
                        "attempts",
                        "next_attempt_at",
                        "created_at",
                        "log",
                    ],
                    matching,
                )
                .returning(WebhookDelivery.delivery_id)
            )
            created += len(result.all())
            webhook.last_seq = top
        await session.flush()
        return created

    async def send_due(self, session: AsyncSession, now: datetime) -> int:
        """Attempt the deliveries whose time has come; how many were attempted."""
        rows = await session.execute(
            select(WebhookDelivery, Webhook.url, Webhook.secret, Alert)
            .join(Webhook, Webhook.webhook_id == WebhookDelivery.webhook_id)
            .join(Alert, Alert.seq == WebhookDelivery.alert_seq)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.delivery_id)
            .limit(self.batch_size)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        )
        due = [
            _Due(delivery, url, secret, from_row(alert).as_json(), alert.alert_id)
            for delivery, url, secret, alert in rows.all()
        ]
        outcomes = await asyncio.gather(*(self._attempt(item) for item in due))
        for item, (ok, entry) in zip(due, outcomes, strict=True):
            self._record(item.delivery, ok, entry, now)
        await session.flush()
        return len(due)

    async def _attempt(self, item: _Due) -> tuple[bool, dict[str, Any]]:
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "chiso766-webhooks/1",
            ALERT_ID_HEADER: item.alert_id,
            DELIVERY_HEADER: str(item.delivery.delivery_id),
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(item.secret, timestamp, item.body),
        }
        started = time.perf_counter()
        entry: dict[str, Any] = {"attempt": item.delivery.attempts + 1}
        try:
            response = await self.client.post(item.url, content=item.body, headers=headers)
        except httpx.HTTPError as error:
            entry["error"] = f"{type(error).__name__}: {error}"[:500]
            ok = False
        else:
            entry["status_code"] = response.status_code
            ok = response.is_success
        entry["ms"] = round((time.perf_counter() - started) * 1000, 1)
        return ok, entry

    def _record(
        self, delivery: WebhookDelivery, ok: bool, entry: dict[str, Any], now: datetime
    ) -> None:
        delivery.attempts += 1
        entry["at"] = now.isoformat()
        delivery.log = [*delivery.log, entry]
        if ok:
            delivery.status = "delivered"
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        elif delivery.attempts >= self.policy.max_attempts:
            delivery.status = "failed"
            delivery.next_attempt_at = None
            log.warning(
                "alerts.webhook_gave_up",
                webhook=delivery.webhook_id,
                delivery=delivery.delivery_id,
                attempts=delivery.attempts,
            )
        else:
            delivery.next_attempt_at = now + self.policy.delay(delivery.attempts)


async def retry_failed(session: AsyncSession, webhook_id: str, now: datetime) -> int:
    """Give the failed deliveries of a subscription a new round of attempts."""
    result = await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=now)
        .returning(WebhookDelivery.delivery_id)
    )
    return len(result.all())


async def cancel_pending(session: AsyncSession, webhook_id: str) -> None:
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == "pending")
        .values(status="cancelled", next_attempt_at=None)
    )
