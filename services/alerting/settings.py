"""alerting's settings: `ALERTING_` variables, beside the common ones and `OPS_`.

They had no prefix of their own before (`ALERT_…`, `WEBHOOK_…`): those names still work for this
release, with a warning at start.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from pydantic import Field

from shared.periods import PeriodKind
from shared.settings import (
    CommonSettings,
    MethodologySettings,
    Minutes,
    OpsSettings,
    Seconds,
    WebhookTargetSettings,
    renamed,
)

_POSITIVE = timedelta(0)


class AlertingSettings(CommonSettings, OpsSettings, MethodologySettings, WebhookTargetSettings):
    PREFIX: ClassVar[str] = "ALERTING_"

    # The score watcher: how often, which periods, and what it calls a fall.
    alerting_watch_seconds: Seconds = Field(
        default=timedelta(seconds=5),
        gt=_POSITIVE,
        validation_alias=renamed("alert_watch_seconds", "alerting_watch_seconds"),
    )
    alerting_watch_period_kinds: tuple[PeriodKind, ...] = Field(
        default=(PeriodKind.WEEK, PeriodKind.MONTH),
        validation_alias=renamed("alert_watch_period_kinds", "alerting_watch_period_kinds"),
    )
    alerting_score_drop_points: float = Field(
        default=2,
        gt=0,
        validation_alias=renamed("alert_score_drop_points", "alerting_score_drop_points"),
    )
    alerting_group_drop_points: float = Field(
        default=1,
        gt=0,
        validation_alias=renamed("alert_group_drop_points", "alerting_group_drop_points"),
    )
    alerting_rank_drop_places: int = Field(
        default=5,
        gt=0,
        validation_alias=renamed("alert_rank_drop_places", "alerting_rank_drop_places"),
    )
    # Indicator id -> target rate in percent; the province's plan asks 99.9 % on time.
    alerting_targets: dict[str, float] = Field(
        default_factory=lambda: {"2.1": 99.9},
        validation_alias=renamed("alert_targets", "alerting_targets"),
    )
    # Units with fewer dossiers counted in the period are not watched (early-week noise).
    alerting_min_dossiers: int = Field(
        default=20, ge=1, validation_alias=renamed("alert_min_dossiers", "alerting_min_dossiers")
    )
    alerting_dead_letter_window_minutes: Minutes = Field(
        default=timedelta(minutes=10),
        gt=_POSITIVE,
        validation_alias=renamed(
            "alert_dead_letter_window_minutes", "alerting_dead_letter_window_minutes"
        ),
    )
    alerting_dead_letter_count: int = Field(
        default=20,
        gt=0,
        validation_alias=renamed("alert_dead_letter_count", "alerting_dead_letter_count"),
    )
    # The Kafka relay and the webhook dispatcher: how often they look for work.
    alerting_relay_poll_seconds: Seconds = Field(
        default=timedelta(seconds=0.1),
        gt=_POSITIVE,
        validation_alias=renamed("alert_relay_poll_seconds", "alerting_relay_poll_seconds"),
    )
    alerting_publish_timeout_seconds: Seconds = Field(default=timedelta(seconds=15), gt=_POSITIVE)
    alerting_webhook_poll_seconds: Seconds = Field(
        default=timedelta(seconds=0.2),
        gt=_POSITIVE,
        validation_alias=renamed("webhook_poll_seconds", "alerting_webhook_poll_seconds"),
    )
    alerting_webhook_timeout_seconds: Seconds = Field(
        default=timedelta(seconds=10),
        gt=_POSITIVE,
        validation_alias=renamed("webhook_timeout_seconds", "alerting_webhook_timeout_seconds"),
    )
    alerting_webhook_max_attempts: int = Field(
        default=10,
        ge=1,
        validation_alias=renamed("webhook_max_attempts", "alerting_webhook_max_attempts"),
    )
    alerting_webhook_first_retry_seconds: Seconds = Field(
        default=timedelta(seconds=5),
        gt=_POSITIVE,
        validation_alias=renamed(
            "webhook_first_retry_seconds", "alerting_webhook_first_retry_seconds"
        ),
    )
    alerting_webhook_max_retry_seconds: Seconds = Field(
        default=timedelta(hours=1),
        gt=_POSITIVE,
        validation_alias=renamed("webhook_max_retry_seconds", "alerting_webhook_max_retry_seconds"),
    )
