"""alerting's queries: the watcher's baselines, the relay's position, the webhook deliveries.
Callers own the transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, select, text
from sqlalchemy import insert as sql_insert
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.alerts import DeliveryStatus, Level
from shared.models import AlertRelay, AlertRow, AlertWatch, DeadLetter, Webhook, WebhookDelivery

# Held by the watcher that looks, for its transaction: one watcher at a time.
WATCH_LOCK = 766_003


@dataclass(slots=True)
class Watch:
    """What the watcher last saw of one measure."""

    baseline: float
    raised: int


async def try_watch_lock(session: AsyncSession) -> bool:
    locked = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": WATCH_LOCK}
    )
    return bool(locked)


async def watches(session: AsyncSession, prefix: str) -> dict[str, Watch]:
    rows = await session.execute(
        select(AlertWatch.watch_key, AlertWatch.baseline, AlertWatch.raised).where(
            AlertWatch.watch_key.startswith(prefix, autoescape=True)
        )
    )
    return {key: Watch(baseline, raised) for key, baseline, raised in rows}


async def save_watches(session: AsyncSession, changed: Mapping[str, Watch], now: datetime) -> None:
    if not changed:
        return
    statement = insert(AlertWatch).values(
        [
            {"watch_key": key, "baseline": w.baseline, "raised": w.raised, "updated_at": now}
            for key, w in changed.items()
        ]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[AlertWatch.watch_key],
            set_={
                "baseline": statement.excluded.baseline,
                "raised": statement.excluded.raised,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )


async def recent_dead_letters(session: AsyncSession, since: datetime) -> dict[str, int]:
    """Dead letters by topic since `since`."""
    rows = await session.execute(
        select(DeadLetter.topic, func.count())
        .where(DeadLetter.dead_lettered_at > since)
        .group_by(DeadLetter.topic)
    )
    return {topic: int(count) for topic, count in rows.all()}


async def lock_relay(session: AsyncSession, topic: str, now: datetime) -> AlertRelay:
    """The relay's row, locked: relays in several processes take turns."""
    await session.execute(
        insert(AlertRelay)
        .values(topic=topic, last_seq=0, offsets={}, updated_at=now)
        .on_conflict_do_nothing()
    )
    position = await session.scalar(
        select(AlertRelay)
        .where(AlertRelay.topic == topic)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert position is not None
    return position


async def alerts_after(session: AsyncSession, seq: int, limit: int) -> list[AlertRow]:
    return list(
        await session.scalars(
            select(AlertRow).where(AlertRow.seq > seq).order_by(AlertRow.seq).limit(limit)
        )
    )


async def last_alert_seq(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(AlertRow.seq), 0))) or 0)


async def subscriptions_behind(session: AsyncSession, top: int) -> list[Webhook]:
    """Live subscriptions whose cursor is before `top`, claimed (SKIP LOCKED) for this fan-out."""
    return list(
        await session.scalars(
            select(Webhook)
            .where(Webhook.deleted_at.is_(None), Webhook.last_seq < top)
            .with_for_update(skip_locked=True)
        )
    )


async def add_deliveries(session: AsyncSession, webhook: Webhook, top: int, now: datetime) -> int:
    """A pending delivery of every alert in (cursor, top] the subscription's filters match."""
    matching = select(
        literal(webhook.webhook_id),
        AlertRow.seq,
        literal(DeliveryStatus.PENDING.value),
        literal(0),
        literal(now),
        literal(now),
        literal([], WebhookDelivery.log.type),
    ).where(
        AlertRow.seq > webhook.last_seq,
        AlertRow.seq <= top,
        AlertRow.level.in_(Level(webhook.min_level).at_least()),
        *([AlertRow.unit_code.in_(webhook.units)] if webhook.units else []),
        *([AlertRow.kind.in_(webhook.kinds)] if webhook.kinds else []),
    )
    columns = [
        "webhook_id",
        "alert_seq",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
        "log",
    ]
    result = await session.execute(
        sql_insert(WebhookDelivery)
        .from_select(columns, matching)
        .returning(WebhookDelivery.delivery_id)
    )
    return len(result.all())


async def due_deliveries(
    session: AsyncSession, now: datetime, limit: int
) -> list[tuple[WebhookDelivery, str, str, AlertRow]]:
    """(delivery, url, secret, alert) of the pending deliveries due by `now`, claimed."""
    rows = await session.execute(
        select(WebhookDelivery, Webhook.url, Webhook.secret, AlertRow)
        .join(Webhook, Webhook.webhook_id == WebhookDelivery.webhook_id)
        .join(AlertRow, AlertRow.seq == WebhookDelivery.alert_seq)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.delivery_id)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    return [(delivery, url, secret, alert) for delivery, url, secret, alert in rows.all()]
