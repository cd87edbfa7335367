from __future__ import annotations

from pydantic import field_validator

from shared.periods import ALL_KINDS, PeriodKind
from shared.settings import CommonSettings


class ScoringSettings(CommonSettings):
    # Events read from the store per transaction: larger batches replay faster.
    scoring_batch_size: int = 50_000
    # How often an idle scorer looks for new events and due dossiers.
    scoring_idle_poll_seconds: float = 0.1
    scoring_period_kinds: tuple[PeriodKind, ...] = ALL_KINDS

    @field_validator("scoring_period_kinds")
    @classmethod
    def _calendar_kinds_only(cls, kinds: tuple[PeriodKind, ...]) -> tuple[PeriodKind, ...]:
        if PeriodKind.RANGE in kinds:
            raise ValueError("ranges are computed when asked for, not kept: leave out 'range'")
        return kinds
