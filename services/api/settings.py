from __future__ import annotations

from pathlib import Path

from limits import parse
from pydantic import Field, field_validator

from shared.methodology.model import DEFAULT_VERSION
from shared.ops import OpsSettings
from shared.periods import PeriodKind
from shared.settings import CommonSettings


class ApiSettings(CommonSettings, OpsSettings):
    """The api's settings, and the alerting process's (which serves `/metrics`, `/livez` and
    `/readyz` on `OPS_PORT`; the api serves them beside its routes)."""

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    methodology_version: str = DEFAULT_VERSION
    # A folder of a province's own methodology versions (`<version>.json`), beside the shipped ones.
    methodology_dir: Path | None = None
    # Scores of this many (period, version) pairs are kept in memory between polls.
    api_score_cache_size: int = 64
    # How long a catalogue write waits for the broker before answering 503.
    api_publish_timeout_seconds: float = 15
    # Portal frontends allowed to call from a browser (exact origins, e.g. https://dvc.example.vn).
    api_cors_origins: tuple[str, ...] = ()
    # Larger request bodies get 413 (a full catalogue upload of 5000 events fits).
    api_max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    # Requests per client address, a moving window ("600/minute"); empty turns it off.
    api_rate_limit: str = "600/minute"
    # Reads are public unless this is set: then they need an API key with the scope `read`.
    api_read_key_required: bool = False

    # SSE clients wait for new alerts; one query per this many seconds serves them all.
    alert_stream_poll_seconds: float = Field(default=0.2, gt=0)

    # The alerting process (`python -m services.api.alerting`): what it watches and when it says so.
    alert_watch_seconds: float = Field(default=5, gt=0)
    alert_watch_period_kinds: tuple[PeriodKind, ...] = (PeriodKind.WEEK, PeriodKind.MONTH)
    alert_score_drop_points: float = Field(default=2, gt=0)
    alert_group_drop_points: float = Field(default=1, gt=0)
    alert_rank_drop_places: int = Field(default=5, gt=0)
    # Indicator id -> target rate in percent; the province's plan asks 99.9 % on time.
    alert_targets: dict[str, float] = Field(default_factory=lambda: {"2.1": 99.9})
    # Units with fewer dossiers counted in the period are not watched (early-week noise).
    alert_min_dossiers: int = Field(default=20, ge=1)
    alert_dead_letter_window_minutes: float = Field(default=10, gt=0)
    alert_dead_letter_count: int = Field(default=20, gt=0)
    alert_relay_poll_seconds: float = Field(default=0.1, gt=0)
    webhook_poll_seconds: float = Field(default=0.2, gt=0)
    webhook_timeout_seconds: float = Field(default=10, gt=0)
    webhook_max_attempts: int = Field(default=10, ge=1)
    webhook_first_retry_seconds: float = Field(default=5, gt=0)
    webhook_max_retry_seconds: float = Field(default=3600, gt=0)

    @field_validator("api_rate_limit")
    @classmethod
    def _rate_limit_parses(cls, limit: str) -> str:
        if limit:
            parse(limit)
        return limit
