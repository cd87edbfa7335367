"""The api's settings: `API_` variables, beside the common ones, the methodology's and the
webhook targets'."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from limits import parse
from pydantic import Field, field_validator

from shared.settings import (
    CommonSettings,
    MethodologySettings,
    Seconds,
    WebhookTargetSettings,
    renamed,
)


class ApiSettings(CommonSettings, MethodologySettings, WebhookTargetSettings):
    PREFIX: ClassVar[str] = "API_"

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    # Scores of this many (period, version) pairs are kept in memory between polls.
    api_score_cache_size: int = Field(default=64, ge=1)
    # How long a catalogue write waits for the broker before answering 503.
    api_publish_timeout_seconds: Seconds = Field(default=timedelta(seconds=15), gt=timedelta(0))
    # Portal frontends allowed to call from a browser (exact origins, e.g. https://dvc.example.vn).
    api_cors_origins: tuple[str, ...] = ()
    # Larger request bodies get 413 (a full catalogue upload of 5000 events fits).
    api_max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    # Requests per client address, a moving window ("600/minute"); empty turns it off.
    api_rate_limit: str = "600/minute"
    # Reads are public unless this is set: then they need an API key with the scope `read`.
    api_read_key_required: bool = False
    # SSE clients wait for new alerts; one query per this many seconds serves them all.
    api_alert_stream_poll_seconds: Seconds = Field(
        default=timedelta(seconds=0.2),
        gt=timedelta(0),
        validation_alias=renamed("alert_stream_poll_seconds", "api_alert_stream_poll_seconds"),
    )

    @field_validator("api_rate_limit")
    @classmethod
    def _rate_limit_parses(cls, limit: str) -> str:
        if limit:
            parse(limit)
        return limit
