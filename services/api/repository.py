"""The api's own queries (the scores' are in `shared.scores.repository`): listings, the pipeline's
counts, alerts, subscriptions, dead letters and keys. Indexed reads of what the other services
keep; the request owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Text, and_, cast, func, or_, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.alerts import DeliveryStatus
from shared.models import (
    AlertRow,
    ApiKey,
    DeadLetter,
    Dossier,
    Event,
    IngestCount,
    Unit,
    Webhook,
    WebhookDelivery,
)
from shared.rules.ontime import IN_PROGRESS_OUTCOMES, OVERDUE_OUTCOMES, DossierOutcome
from shared.versions import KEYS_CHANNEL

# -- the pipeline ------------------------------------------------------------------------------


async def ping(session: AsyncSession) -> None:
    """A round trip to the database: is it there?"""
    await session.execute(text("SELECT 1"))


async def ingest_counts(session: AsyncSession) -> list[IngestCount]:
    return list(await session.scalars(select(IngestCount).order_by(IngestCount.topic)))


async def events_after(session: AsyncSession, seq: int) -> int:
    """Stored events past `seq`: scoring's backlog (a range count on the primary key)."""
    return int(
        await session.scalar(select(func.count()).select_from(Event).where(Event.seq > seq)) or 0
    )


async def oldest_stored_after(session: AsyncSession, seq: int) -> datetime | None:
    stored: datetime | None = await session.scalar(
        select(Event.stored_at).where(Event.seq > seq).order_by(Event.seq).limit(1)
    )
    return stored


async def dead_letter_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(DeadLetter)) or 0)


async def units_not_in_catalogue(session: AsyncSession, province_code: str) -> list[str]:
    """Units known only from dossiers or feedback: no catalogue event has given their level."""
    query = select(Unit.unit_code).where(Unit.level.is_(None), Unit.unit_code != province_code)
    return list(await session.scalars(query.order_by(Unit.unit_code)))


# -- listings ----------------------------------------------------------------------------------


async def overdue_page(
    session: AsyncSession,
    unit_code: str,
    *,
    active_from: datetime | None,
    active_before: datetime | None,
    after: tuple[datetime | None, str] | None,
    limit: int,
    offset: int = 0,
) -> tuple[int, list[Dossier]]:
    """Overdue dossiers of a unit, optionally only those still being processed in a window: how
    many, and `limit` of them after the key `after` (effective due date, then code; those with
    no due date last), read in that order from `ix_dossiers_overdue`."""
    conditions = [Dossier.unit_code == unit_code, Dossier.outcome.in_(OVERDUE_OUTCOMES)]
    if active_from is not None:
        conditions.append(
            or_(Dossier.clock_stopped_at.is_(None), Dossier.clock_stopped_at >= active_from)
        )
    if active_before is not None:
        conditions.append(Dossier.received_at < active_before)
    # A unit's overdue dossiers, counted on the partial index of them: hundreds, not the list.
    total = await session.scalar(select(func.count()).select_from(Dossier).where(*conditions))
    if after is not None:
        due, code = after
        if due is None:
            conditions.append(and_(Dossier.effective_due_at.is_(None), Dossier.dossier_code > code))
        else:
            conditions.append(
                or_(
                    tuple_(Dossier.effective_due_at, Dossier.dossier_code) > tuple_(due, code),
                    Dossier.effective_due_at.is_(None),
                )
            )
    rows = await session.scalars(
        select(Dossier)
        .where(*conditions)
        .order_by(Dossier.effective_due_at.asc().nulls_last(), Dossier.dossier_code)
        .limit(limit)
        .offset(offset)
    )
    return int(total or 0), list(rows)


# -- alerts ------------------------------------------------------------------------------------


async def last_alert_seq(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(AlertRow.seq), 0))) or 0)


async def alerts_before(
    session: AsyncSession,
    conditions: Sequence[ColumnElement[bool]],
    before: int | None,
    limit: int,
) -> list[AlertRow]:
    """The newest alerts matching `conditions`, before seq `before` if given."""
    query = select(AlertRow).where(*conditions)
    if before is not None:
        query = query.where(AlertRow.seq < before)
    return list(await session.scalars(query.order_by(AlertRow.seq.desc()).limit(limit)))


async def alerts_between(
    session: AsyncSession,
    after: int,
    up_to: int,
    conditions: Sequence[ColumnElement[bool]],
    limit: int,
) -> list[AlertRow]:
    """Alerts in (after, up_to] matching `conditions`, oldest first."""
    query = select(AlertRow).where(AlertRow.seq > after, AlertRow.seq <= up_to, *conditions)
    return list(await session.scalars(query.order_by(AlertRow.seq).limit(limit)))


# -- webhook subscriptions ---------------------------------------------------------------------


async def delivery_counts(session: AsyncSession, webhook_id: str) -> dict[str, int]:
    """Deliveries waiting and given up, by status."""
    rows = await session.execute(
        select(WebhookDelivery.status, func.count())
        .where(
            WebhookDelivery.webhook_id == webhook_id,
            WebhookDelivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.FAILED]),
        )
        .group_by(WebhookDelivery.status)
    )
    return {status: int(count) for status, count in rows.all()}


async def add(session: AsyncSession, row: Webhook | ApiKey) -> None:
    """A new subscription or key, in the caller's transaction."""
    session.add(row)
    await session.flush()


async def webhook(session: AsyncSession, webhook_id: str) -> Webhook | None:
    return await session.get(Webhook, webhook_id)


async def webhooks_of(session: AsyncSession, key_id: str) -> list[Webhook]:
    return list(
        await session.scalars(
            select(Webhook)
            .where(Webhook.owner_key_id == key_id, Webhook.deleted_at.is_(None))
            .order_by(Webhook.created_at)
        )
    )


async def deliveries(
    session: AsyncSession,
    webhook_id: str,
    status: DeliveryStatus | None,
    before: int | None,
    limit: int,
) -> list[tuple[WebhookDelivery, str]]:
    """(delivery, alert id), newest first."""
    query = (
        select(WebhookDelivery, AlertRow.alert_id)
        .join(AlertRow, AlertRow.seq == WebhookDelivery.alert_seq)
        .where(WebhookDelivery.webhook_id == webhook_id)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if before is not None:
        query = query.where(WebhookDelivery.delivery_id < before)
    rows = await session.execute(query.order_by(WebhookDelivery.delivery_id.desc()).limit(limit))
    return [(delivery, alert_id) for delivery, alert_id in rows.all()]


async def retry_failed(session: AsyncSession, webhook_id: str, now: datetime) -> int:
    """Give the failed deliveries of a subscription a new round of attempts."""
    result = await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.webhook_id == webhook_id,
            WebhookDelivery.status == DeliveryStatus.FAILED,
        )
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now)
        .returning(WebhookDelivery.delivery_id)
    )
    return len(result.all())


async def cancel_pending(session: AsyncSession, webhook_id: str) -> None:
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.webhook_id == webhook_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.CANCELLED, next_attempt_at=None)
    )


# -- dead letters ------------------------------------------------------------------------------


async def dead_letters(
    session: AsyncSession,
    topic: str | None,
    reason: str | None,
    before: int | None,
    limit: int,
) -> list[DeadLetter]:
    query = select(DeadLetter)
    if topic is not None:
        query = query.where(DeadLetter.topic == topic)
    if reason:
        query = query.where(DeadLetter.reason.contains(reason, autoescape=True))
    if before is not None:
        query = query.where(DeadLetter.id < before)
    return list(await session.scalars(query.order_by(DeadLetter.id.desc()).limit(limit)))


async def lock_dead_letters(session: AsyncSession, ids: Sequence[int]) -> list[DeadLetter]:
    return list(
        await session.scalars(
            select(DeadLetter)
            .where(DeadLetter.id.in_(list(ids)))
            .order_by(DeadLetter.id)
            .with_for_update()
        )
    )


async def count_replays(session: AsyncSession, ids: Sequence[int], now: datetime) -> None:
    await session.execute(
        update(DeadLetter)
        .where(DeadLetter.id.in_(list(ids)))
        .values(replays=DeadLetter.replays + 1, replayed_at=now)
    )


# -- keys --------------------------------------------------------------------------------------


async def api_key(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))


async def announce_key(session: AsyncSession, key_id: str) -> None:
    """The api's processes forget what they knew of the key (at commit)."""
    await session.execute(
        text("SELECT pg_notify(:channel, :key_id)"), {"channel": KEYS_CHANNEL, "key_id": key_id}
    )


async def api_keys(session: AsyncSession) -> list[ApiKey]:
    return list(await session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


async def revoke_key(session: AsyncSession, key_id: str, now: datetime) -> bool:
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.key_id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(ApiKey.key_id)
    )
    return bool(result.all())


# -- reports -----------------------------------------------------------------------------------


def overdue_conditions(
    unit_code: str | None, active_from: datetime | None, active_before: datetime | None
) -> list[ColumnElement[bool]]:
    """Which dossiers the overdue list holds: overdue (as scoring last evaluated them), of one
    unit or of every unit, optionally only those whose clock ran in a window. The same conditions
    as `overdue_page`'s, which could take them from here."""
    conditions: list[ColumnElement[bool]] = [
        Dossier.outcome.in_(OVERDUE_OUTCOMES),
        Dossier.unit_code.is_not(None) if unit_code is None else Dossier.unit_code == unit_code,
    ]
    if active_from is not None:
        conditions.append(
            or_(Dossier.clock_stopped_at.is_(None), Dossier.clock_stopped_at >= active_from)
        )
    if active_before is not None:
        conditions.append(Dossier.received_at < active_before)
    return conditions


async def overdue_counts(
    session: AsyncSession, *, active_from: datetime, active_before: datetime
) -> dict[str, int]:
    """Per unit, how many dossiers its overdue list holds for the window (units with none are
    left out)."""
    rows = await session.execute(
        select(Dossier.unit_code, func.count())
        .where(*overdue_conditions(None, active_from, active_before))
        .group_by(Dossier.unit_code)
    )
    return {str(unit): int(count) for unit, count in rows.all()}


# -- guidance ----------------------------------------------------------------------------------


async def in_progress_states(
    session: AsyncSession, unit_code: str | None, received_before: datetime
) -> list[str]:
    """The states of a unit's dossiers in progress (every unit's for None) received before an
    instant, as JSON text (a worker process may evaluate them): what the guidance's forecast
    and due-soon parts evaluate."""
    conditions = [
        Dossier.outcome.in_(IN_PROGRESS_OUTCOMES),
        Dossier.received_at < received_before,
    ]
    if unit_code is not None:
        conditions.append(Dossier.unit_code == unit_code)
    return list(await session.scalars(select(cast(Dossier.state, Text)).where(*conditions)))


async def due_soon_page(
    session: AsyncSession,
    unit_code: str | None,
    due_by: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Dossier]:
    """A unit's dossiers in progress within their deadline, clock running, due by `due_by`:
    soonest first, from after the keyset `(effective_due_at, dossier_code)`."""
    conditions = [
        Dossier.outcome == DossierOutcome.IN_PROGRESS,
        Dossier.clock_stopped_at.is_(None),
        Dossier.effective_due_at <= due_by,
    ]
    if unit_code is not None:
        conditions.append(Dossier.unit_code == unit_code)
    if after is not None:
        conditions.append(tuple_(Dossier.effective_due_at, Dossier.dossier_code) > after)
    rows = await session.scalars(
        select(Dossier)
        .where(*conditions)
        .order_by(Dossier.effective_due_at, Dossier.dossier_code)
        .limit(limit)
    )
    return list(rows)
