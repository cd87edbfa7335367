from __future__ import annotations

from shared.periods import ALL_KINDS, PeriodKind
from shared.settings import CommonSettings


class ScoringSettings(CommonSettings):
    # Events read from the store per transaction: larger batches replay faster.
    scoring_batch_size: int = 50_000
    # How often an idle scorer looks for new events and due dossiers.
    scoring_idle_poll_seconds: float = 0.1
    scoring_period_kinds: tuple[PeriodKind, ...] = ALL_KINDS
