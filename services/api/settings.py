"""The api's settings: `API_` variables, beside the common ones, the methodology's and the
webhook targets'."""

from __future__ import annotations

from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network
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
    # Serialized responses kept (each a ranking or a unit's detail at one version, 5-30 KB).
    api_rendered_cache_size: int = Field(default=2048, ge=1)
    # How long after scoring moves a version a public poll may still get the answer it got before
    # (while one render per key makes the new one: `front_cache`); 0: polls wait for the render.
    api_front_stale_seconds: Seconds = Field(default=timedelta(seconds=1), ge=timedelta(0))
    # How long a catalogue write waits for the broker before answering 503.
    api_publish_timeout_seconds: Seconds = Field(default=timedelta(seconds=15), gt=timedelta(0))
    # Portal frontends allowed to call from a browser (exact origins, e.g. https://dvc.example.vn).
    api_cors_origins: tuple[str, ...] = ()
    # Larger request bodies get 413 (a full catalogue upload of 5000 events fits).
    api_max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    # Worker processes serving HTTP (each with its own memory of versions and responses).
    api_workers: int = Field(default=1, ge=1, le=64)
    # Requests per client address without a valid key, a moving window; empty turns it off.
    # 100 a second: an IOC wall of fifty screens behind one address, polling every second.
    api_rate_limit: str = "6000/minute"
    # Requests per valid API key; empty (the default): a keyed client is never limited.
    api_rate_limit_keyed: str = ""
    # Addresses or networks never limited (a portal's own server that calls for its visitors).
    api_rate_limit_exempt: tuple[IPv4Network | IPv6Network, ...] = ()
    # Where the windows are counted: "memory://" (each process alone) or "redis://host:6379"
    # (every worker and replica together: what more than one process needs).
    api_rate_limit_storage: str = "memory://"
    # Reads are public unless this is set: then they need an API key with the scope `read`.
    api_read_key_required: bool = False
    # SSE clients wait for new alerts; one query per this many seconds serves them all.
    api_alert_stream_poll_seconds: Seconds = Field(
        default=timedelta(seconds=0.2),
        gt=timedelta(0),
        validation_alias=renamed("alert_stream_poll_seconds", "api_alert_stream_poll_seconds"),
    )

    @field_validator("api_rate_limit", "api_rate_limit_keyed")
    @classmethod
    def _rate_limit_parses(cls, limit: str) -> str:
        if limit:
            parse(limit)
        return limit

    @field_validator("api_rate_limit_storage")
    @classmethod
    def _storage_known(cls, storage: str) -> str:
        scheme = storage.removeprefix("async+").partition("://")[0]
        if scheme not in {"memory", "redis", "rediss", "redis+sentinel", "redis+cluster"}:
            raise ValueError("memory://, or a redis:// URL")
        return storage
