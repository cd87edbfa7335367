"""Settings common to every service, read from the environment.

Each service subclasses `CommonSettings` with its own fields; unknown keys are refused so that a
typo in a deployment fails loudly instead of being ignored.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.workdays import MAKE_UP_WORKING_DAYS, WorkingCalendar


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="forbid", frozen=True, env_file=None)

    database_url: str = Field(
        description="PostgreSQL URL, e.g. postgresql://user:pass@host:5432/chiso766 (no default)."
    )
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    province_code: str = Field(
        default="19", description="The province's unit code; its scores pool all its units."
    )
    province_name: str = "Tỉnh Thái Nguyên"
    timezone: str = "Asia/Ho_Chi_Minh"
    topic_dossier_events: str = "dossier.events"
    topic_catalog_events: str = "catalog.events"
    topic_feedback_events: str = "feedback.events"
    topic_dead_letter: str = "dossier.events.dlq"
    topic_alerts: str = "index.alerts"
    # Days the government declares off or worked beyond `holidays.VN` (YYYY-MM-DD).
    extra_days_off: tuple[date, ...] = ()
    extra_working_days: tuple[date, ...] = MAKE_UP_WORKING_DAYS
    log_level: str = "INFO"
    log_json: bool = True

    def working_calendar(self) -> WorkingCalendar:
        return WorkingCalendar(
            self.timezone,
            extra_days_off=self.extra_days_off,
            extra_working_days=self.extra_working_days,
        )
