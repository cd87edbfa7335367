"""Settings, read from the environment, each service's on a common base.

A setting's variable is its name in capitals. What every service reads has no prefix
(`DATABASE_URL`, `TOPIC_DOSSIER_EVENTS`, …); what one service alone reads carries its prefix
(`INGEST_`, `SCORING_`, `API_`, `ALERTING_`; `OPS_` for the background services' operations port).
A service refuses to start on a variable with its prefix that names none of its settings, and on
one that looks like a setting misspelt (`SCORNG_BATCH_SIZE`), instead of running with a default
the operator did not mean. The names of the previous release still work, with a warning.

Durations are `timedelta`s; a number is read in the unit the name says (`…_SECONDS`, `…_HOURS`),
and an ISO 8601 duration (`PT2H`) works as well.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self

import structlog
from pydantic import AliasChoices, BeforeValidator, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.logging import configure_logging
from shared.methodology.model import DEFAULT_VERSION
from shared.workdays import MAKE_UP_WORKING_DAYS, WorkingCalendar

log = structlog.get_logger()


def _in(unit: timedelta) -> BeforeValidator:
    def read(value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return unit * value
        if isinstance(value, str):
            try:
                return unit * float(value)
            except ValueError:
                return value  # an ISO 8601 duration, for pydantic to read
        return value

    return BeforeValidator(read)


Seconds = Annotated[timedelta, _in(timedelta(seconds=1))]
Minutes = Annotated[timedelta, _in(timedelta(minutes=1))]
Hours = Annotated[timedelta, _in(timedelta(hours=1))]


def renamed(old: str, new: str) -> AliasChoices:
    """Read a setting under its name (`new`, a field name) or the one it had before (`old`)."""
    return AliasChoices(new, old)


class SettingsError(ValueError):
    """Variables a service will not start with."""


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(
        extra="forbid", frozen=True, env_file=None, populate_by_name=True
    )
    # The prefix of the variables this service alone reads; "" for none.
    PREFIX: ClassVar[str] = ""

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

    @classmethod
    def from_environment(cls) -> Self:
        """The settings of a service starting up: refused if the environment holds a variable
        meant for it that it would not read."""
        problems = stray_variables(cls, os.environ)
        if problems:
            raise SettingsError("; ".join(problems))
        return cls()

    @classmethod
    def starting(cls, service: str) -> Self:
        """The settings of `service` starting up, its logging configured by them."""
        settings = cls.from_environment()
        configure_logging(settings.log_level, json=settings.log_json, service=service)
        for old, new in sorted(old_names_in_use(cls, os.environ).items()):
            log.warning("settings.renamed", variable=old, now_called=new)
        return settings

    def working_calendar(self) -> WorkingCalendar:
        return WorkingCalendar(
            self.timezone,
            extra_days_off=self.extra_days_off,
            extra_working_days=self.extra_working_days,
        )


def variable_names(settings: type[BaseSettings]) -> dict[str, str]:
    """{variable: field} for every name a settings class reads, old names included."""
    names = {}
    for field, info in settings.model_fields.items():
        names[field.upper()] = field
        if isinstance(info.validation_alias, AliasChoices):
            for choice in info.validation_alias.choices:
                if isinstance(choice, str):
                    names[choice.upper()] = field
    return names


def prefixes(settings: type[BaseSettings]) -> set[str]:
    """The prefixes a settings class owns: its own, and its mixins'."""
    return {prefix for klass in settings.__mro__ if (prefix := vars(klass).get("PREFIX"))}


# The prefixes of the project's services, and those of the previous release's names: a variable
# with one of them is for that service to judge, whichever process sees it.
SERVICE_PREFIXES = ("INGEST_", "SCORING_", "API_", "ALERTING_", "OPS_", "ALERT_", "WEBHOOK_")


def stray_variables(settings: type[BaseSettings], environ: Mapping[str, str]) -> list[str]:
    """What is wrong with the variables of `environ` meant for this service."""
    known = variable_names(settings)
    owned = prefixes(settings)
    problems = []
    for variable in sorted(environ):
        name = variable.upper()
        if name in known:
            continue
        close = difflib.get_close_matches(name, [*known], n=1, cutoff=0.85)
        if any(name.startswith(prefix) for prefix in owned):
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{variable} is not a setting of this service{hint}")
        elif close and not name.startswith(SERVICE_PREFIXES):
            problems.append(f"{variable} looks like {close[0]} misspelt")
    return problems


def old_names_in_use(settings: type[BaseSettings], environ: Mapping[str, str]) -> dict[str, str]:
    """{old variable: new variable} for the renamed settings `environ` sets by their old name."""
    used = {variable.upper() for variable in environ}
    found = {}
    for name, field in variable_names(settings).items():
        if name in used and name != field.upper():
            found[name] = field.upper()
    return found


class OpsSettings(BaseSettings):
    """Mixed into the settings of the services that have no HTTP port of their own."""

    PREFIX: ClassVar[str] = "OPS_"

    ops_host: str = "127.0.0.1"
    ops_port: int = Field(default=0, ge=0, le=65535)
    ops_stall_seconds: Seconds = Field(default=timedelta(seconds=120), gt=timedelta(0))


class MethodologySettings(BaseSettings):
    """Which methodology versions score (the api and the alerting watcher)."""

    methodology_version: str = DEFAULT_VERSION
    # A folder of a province's own methodology versions (`<version>.json`), beside the shipped ones.
    methodology_dir: Path | None = None


class WebhookTargetSettings(BaseSettings):
    """Where webhooks may be delivered (the api checks a subscription, alerting each delivery)."""

    # Hosts or networks a webhook may reach although they are loopback, private or link-local
    # (a receiver inside the province's network), e.g. ["ioc.local", "10.20.0.0/16"].
    webhook_allowed_targets: tuple[str, ...] = ()
