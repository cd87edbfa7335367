"""scoring's settings: `SCORING_` variables, beside the common ones and `OPS_`.

`SCORING_HISTORY_FROM` is for a new deployment that loads a backlog: its partitions start at
that day's local midnight, not now, and scoring follows the backlog's own time until it is caught
up, so that the history holds every day from then (`backlog.py`). Unset, scoring starts at the
instant it first runs, and the history with the first midnight it lives through.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

from pydantic import Field, field_validator

from shared.periods import ALL_KINDS, PeriodKind
from shared.settings import CommonSettings, Hours, OpsSettings, Seconds, renamed
from shared.workdays import parse_windows


class ScoringSettings(CommonSettings, OpsSettings):
    PREFIX: ClassVar[str] = "SCORING_"

    # Events read from the store per transaction: larger batches replay faster, since a dossier
    # whose events fall in one batch is loaded, evaluated and written once (a replay of three
    # weeks writes 45,000 dossier rows in one or two batches of this size, 79,000 in batches of
    # 50,000); the price is memory: about 800 MB at the peak of a batch this size.
    scoring_batch_size: int = Field(default=200_000, ge=1)
    # How often an idle scorer looks for due dossiers (and new events, which wake it as soon as
    # ingest has stored them: `wake.py`).
    scoring_idle_poll_seconds: Seconds = Field(default=timedelta(seconds=0.1), gt=timedelta(0))
    scoring_period_kinds: tuple[PeriodKind, ...] = ALL_KINDS
    # The dossiers and feedback are split in this many partitions, shared out among the running
    # instances (at most this many do work). Change it only with every instance stopped and
    # scoring caught up.
    scoring_partitions: int = Field(default=8, ge=1, le=1000)
    # How often an instance counts the others and takes or gives up partitions.
    scoring_rebalance_seconds: Seconds = Field(default=timedelta(seconds=1), gt=timedelta(0))
    # A late event restates the closed days of the history back this many days (older days keep
    # what they recorded; the period's own counts are restated whatever its age).
    scoring_history_restate_days: int = Field(default=10, ge=0, le=366)
    # A local day: the first of the history, for a backlog from that day on (read when the
    # partitions are first made; a day not begun yet starts the history now).
    scoring_history_from: date | None = None
    # "Due soon": this many working hours (of the office hours below) before the due time.
    scoring_due_soon_working_hours: Hours = Field(
        default=timedelta(hours=8),
        gt=timedelta(0),
        validation_alias=renamed("alert_due_soon_working_hours", "scoring_due_soon_working_hours"),
    )
    scoring_office_hours: str = Field(
        default="07:30-11:30,13:30-17:00",
        validation_alias=renamed("alert_office_hours", "scoring_office_hours"),
    )
    # A dossier found overdue longer ago than this (a backfill, an outage) is history: no alert.
    scoring_alert_max_age_hours: Hours = Field(
        default=timedelta(hours=24),
        gt=timedelta(0),
        validation_alias=renamed("alert_max_age_hours", "scoring_alert_max_age_hours"),
    )

    @field_validator("scoring_period_kinds")
    @classmethod
    def _calendar_kinds_only(cls, kinds: tuple[PeriodKind, ...]) -> tuple[PeriodKind, ...]:
        if PeriodKind.RANGE in kinds:
            raise ValueError("ranges are computed when asked for, not kept: leave out 'range'")
        return kinds

    @field_validator("scoring_office_hours")
    @classmethod
    def _office_hours_parse(cls, windows: str) -> str:
        parse_windows(windows)
        return windows
