"""Recording alerts once per fact, and where their record stands."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.alerts import Alert
from shared.models import ALERTS_APPEND_LOCK, AlertRow
from shared.versions import ALERTS_CHANNEL


async def record(session: AsyncSession, alerts: Sequence[Alert]) -> int:
    """Record the alerts not recorded before, in the caller's transaction; how many were new.

    The append lock, held to the commit, makes sequence numbers visible in order."""
    if not alerts:
        return 0
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ALERTS_APPEND_LOCK})
    unique = {alert.alert_id: alert for alert in alerts}
    rows = [
        {
            "alert_id": alert.alert_id,
            "kind": alert.kind.value,
            "level": alert.level.value,
            "unit_code": alert.unit_code,
            "occurred_at": alert.occurred_at,
            "recorded_at": alert.recorded_at,
            "body": alert.model_dump(mode="json", by_alias=True, exclude={"seq"}),
        }
        for alert in sorted(unique.values(), key=lambda a: (a.occurred_at, a.alert_id))
    ]
    seqs: list[int] = []
    for start in range(0, len(rows), _CHUNK):
        statement = insert(AlertRow).values(rows[start : start + _CHUNK])
        result = await session.execute(statement.on_conflict_do_nothing().returning(AlertRow.seq))
        seqs.extend(result.scalars())
    if seqs:
        # Heard by the api's processes at commit: their streams and `/alerts` move on.
        await session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": ALERTS_CHANNEL, "payload": str(max(seqs))},
        )
    return len(seqs)


# Rows per INSERT: PostgreSQL takes at most 32,767 parameters in one statement.
_CHUNK = 1000


async def last_seq(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(AlertRow.seq), 0))) or 0)
