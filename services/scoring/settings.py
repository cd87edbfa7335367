from __future__ import annotations

from pydantic import Field, field_validator

from shared.ops import OpsSettings
from shared.periods import ALL_KINDS, PeriodKind
from shared.settings import CommonSettings
from shared.workdays import parse_windows


class ScoringSettings(CommonSettings, OpsSettings):
    # Events read from the store per transaction: larger batches replay faster.
    scoring_batch_size: int = 50_000
    # How often an idle scorer looks for new events and due dossiers.
    scoring_idle_poll_seconds: float = 0.1
    scoring_period_kinds: tuple[PeriodKind, ...] = ALL_KINDS
    # "Due soon": this many working hours (of the office hours below) before the due time.
    alert_due_soon_working_hours: float = Field(default=8, gt=0)
    alert_office_hours: str = "07:30-11:30,13:30-17:00"
    # A dossier found overdue longer ago than this (a backfill, an outage) is history: no alert.
    alert_max_age_hours: float = Field(default=24, gt=0)

    @field_validator("scoring_period_kinds")
    @classmethod
    def _calendar_kinds_only(cls, kinds: tuple[PeriodKind, ...]) -> tuple[PeriodKind, ...]:
        if PeriodKind.RANGE in kinds:
            raise ValueError("ranges are computed when asked for, not kept: leave out 'range'")
        return kinds

    @field_validator("alert_office_hours")
    @classmethod
    def _office_hours_parse(cls, windows: str) -> str:
        parse_windows(windows)
        return windows
