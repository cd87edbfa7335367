"""Webhook deliveries: every alert a subscription matches is POSTed to it, signed, until it
answers 2xx or the attempts run out.

Two steps, each in its own transaction: `fan_out` gives each subscription a delivery row per
matching alert recorded since its cursor (one row per subscription and alert, by a unique key), and
`send_due` attempts the deliveries whose time has come, retrying with exponential backoff. Rows
are claimed with `SKIP LOCKED`, so several dispatchers share the work without sending one delivery
twice at once. Before each attempt the URL is checked again (`shared.webhook_targets`): a name that
now resolves inside the network is refused, as the attempt's error.

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
from sqlalchemy.ext.asyncio import AsyncSession

from services.alerting import repository
from shared.alerts import DeliveryStatus, from_row
from shared.errors import TargetRefused
from shared.models import WebhookDelivery
from shared.webhook_targets import TargetPolicy, Unresolved

log = structlog.get_logger()

SIGNATURE_HEADER = "X-C766-Signature"
TIMESTAMP_HEADER = "X-C766-Timestamp"
ALERT_ID_HEADER = "X-C766-Alert-Id"
DELIVERY_HEADER = "X-C766-Delivery-Id"
BATCH_SIZE = 50


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    first_delay: timedelta
    max_delay: timedelta

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
    def __init__(self, client: httpx.AsyncClient, policy: RetryPolicy, targets: TargetPolicy):
        self.client = client
        self.policy = policy
        self.targets = targets

    async def fan_out(self, session: AsyncSession, now: datetime) -> int:
        """Delivery rows for the alerts recorded since each subscription's cursor."""
        top = await repository.last_alert_seq(session)
        created = 0
        for webhook in await repository.subscriptions_behind(session, top):
            created += await repository.add_deliveries(session, webhook, top, now)
            webhook.last_seq = top
        await session.flush()
        return created

    async def send_due(self, session: AsyncSession, now: datetime) -> int:
        """Attempt the deliveries whose time has come; how many were attempted."""
        due = [
            _Due(delivery, url, secret, from_row(alert).as_json(), alert.alert_id)
            for delivery, url, secret, alert in await repository.due_deliveries(
                session, now, BATCH_SIZE
            )
        ]
        outcomes = await asyncio.gather(*(self._attempt(item) for item in due))
        for item, (ok, entry) in zip(due, outcomes, strict=True):
            self._record(item.delivery, ok, entry, now)
        await session.flush()
        return len(due)

    async def _attempt(self, item: _Due) -> tuple[bool, dict[str, Any]]:
        started = time.perf_counter()
        entry: dict[str, Any] = {"attempt": item.delivery.attempts + 1}
        try:
            await self.targets.check(item.url)
        except (TargetRefused, Unresolved) as refusal:
            entry["error"] = f"not sent: {refusal}"[:500]
            entry["ms"] = round((time.perf_counter() - started) * 1000, 1)
            return False, entry
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "chiso766-webhooks/1",
            ALERT_ID_HEADER: item.alert_id,
            DELIVERY_HEADER: str(item.delivery.delivery_id),
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(item.secret, timestamp, item.body),
        }
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
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        elif delivery.attempts >= self.policy.max_attempts:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
            log.warning(
                "alerts.webhook_gave_up",
                webhook=delivery.webhook_id,
                delivery=delivery.delivery_id,
                attempts=delivery.attempts,
            )
        else:
            delivery.next_attempt_at = now + self.policy.delay(delivery.attempts)
