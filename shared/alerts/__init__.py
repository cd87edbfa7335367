"""Alerts: what the project tells other services, schema version 1.

An alert states one fact ("dossier X passed its due time Y", "unit U's total fell for the 2nd time
this week"). Its `alert_id` is built from the fact alone, never from when or by whom it was found,
and `alerts.alert_id` is unique: replaying events, restarting a service or running two of them
records each fact once. `seq` orders the record; readers resume from it.

`python -m shared.alerts` prints the JSON Schema (kept in `docs/schemas/alerts-v1.json`);
`shared.alerts.repository` records and reads them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from shared.models import AlertRow

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


class DeliveryStatus(StrEnum):
    """Where one alert's delivery to one webhook subscription stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    # Given up after the last attempt (a key holder may retry them).
    FAILED = "failed"
    # The subscription was deleted first.
    CANCELLED = "cancelled"


def alert_id(kind: AlertKind, *facts: object) -> str:
    """The id of the alert stating a fact: its kind and what names the fact, never when or by
    whom it was found (`dossier_overdue:<dossier>:<due>`, `score_drop:<period>:<unit>:total:2`)."""
    return ":".join([kind.value, *(str(fact) for fact in facts)])


def stamp(moment: datetime) -> str:
    """An instant as it appears in alert ids: UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def from_row(row: AlertRow) -> Alert:
    return Alert.model_validate({**row.body, "seq": row.seq})
