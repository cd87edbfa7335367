"""Alerts: what the project tells other services, schema version 1.

An alert states one fact ("dossier X passed its due time Y", "unit U's total fell for the 2nd time
this week"). Its `alert_id` is built from the fact alone, never from when or by whom it was found,
and `alerts.alert_id` is unique: replaying events, restarting a service or running two of them
records each fact once. `seq` orders the record; readers resume from it.

`python -m shared.alerts` prints the JSON Schema (kept in `docs/schemas/alerts-v1.json`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import ALERTS_APPEND_LOCK
from shared.models import Alert as AlertRow

SCHEMA = "chiso766.alert/1"


class AlertKind(StrEnum):
    DOSSIER_DUE_SOON = "dossier_due_soon"
    DOSSIER_OVERDUE = "dossier_overdue"
    SCORE_DROP = "score_drop"
    RANK_DROP = "rank_drop"
    BELOW_TARGET = "indicator_below_target"
    DEAD_LETTERS_GROWING = "dead_letters_growing"


class Level(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _LEVEL_ORDER.index(self)

    def at_least(self) -> list[str]:
        """This level and the more severe ones."""
        return [level.value for level in _LEVEL_ORDER[self.rank :]]


_LEVEL_ORDER = (Level.INFO, Level.WARNING, Level.CRITICAL)


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DossierDetails(_Details):
    type: Literal["dossier"] = "dossier"
    dossier_code: str
    procedure_code: str | None
    received_at: datetime | None
    # The due time after the pauses the rules grant (additional documents, ...).
    due_at: datetime
    status: str | None


class ScoreDetails(_Details):
    type: Literal["score"] = "score"
    # "total", or "group:<code>" for a group of indicators.
    measure: str
    before: float = Field(description="The best value since the period began or the last alert")
    after: float
    threshold: float


class RankDetails(_Details):
    type: Literal["rank"] = "rank"
    level: str
    before: int = Field(description="The best rank since the period began or the last alert")
    after: int
    threshold: int


class TargetDetails(_Details):
    type: Literal["target"] = "target"
    indicator_id: str
    value_percent: float
    target_percent: float
    numerator: int
    denominator: int


class DeadLetterDetails(_Details):
    type: Literal["dead_letters"] = "dead_letters"
    topic: str
    count: int
    window_minutes: float
    threshold: int


Details = Annotated[
    DossierDetails | ScoreDetails | RankDetails | TargetDetails | DeadLetterDetails,
    Field(discriminator="type"),
]


class Alert(BaseModel):
    """One alert, as published on `index.alerts`, streamed, posted to webhooks and listed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_: Literal["chiso766.alert/1"] = Field("chiso766.alert/1", alias="schema")
    alert_id: str = Field(max_length=255, description="Names the fact: the deduplication key")
    seq: int | None = Field(None, description="Order of recording; resume after it")
    kind: AlertKind
    level: Level
    unit_code: str | None = Field(
        description="The unit concerned; the province for pipeline alerts"
    )
    period: str | None = Field(description="The period key, for score alerts")
    occurred_at: datetime = Field(description="When the fact became true (a due time, a fall)")
    recorded_at: datetime = Field(description="When the project recorded it")
    message: str = Field(description="One line for people, in Vietnamese")
    details: Details

    def as_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", by_alias=True))


def stamp(moment: datetime) -> str:
    """An instant as it appears in alert ids: UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


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
    new = 0
    for start in range(0, len(rows), _CHUNK):
        statement = insert(AlertRow).values(rows[start : start + _CHUNK])
        result = await session.execute(statement.on_conflict_do_nothing().returning(AlertRow.seq))
        new += len(result.all())
    return new


# Rows per INSERT: PostgreSQL takes at most 32,767 parameters in one statement.
_CHUNK = 1000


async def last_seq(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(AlertRow.seq), 0))) or 0)


def from_row(row: AlertRow) -> Alert:
    return Alert.model_validate({**row.body, "seq": row.seq})


if __name__ == "__main__":
    print(orjson.dumps(Alert.model_json_schema(by_alias=True), option=orjson.OPT_INDENT_2).decode())
