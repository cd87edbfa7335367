"""Settings that mean what they say: a variable meant for a service that it would not read stops
it; the names of the last release still work; durations are typed in the unit their name says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from services.alerting.settings import AlertingSettings
from services.api.settings import ApiSettings
from services.ingest.settings import IngestSettings
from services.scoring.settings import ScoringSettings
from shared.settings import (
    CommonSettings,
    SettingsError,
    old_names_in_use,
    stray_variables,
    variable_names,
)

Setter = Callable[[dict[str, str]], None]
SERVICES: tuple[type[CommonSettings], ...] = (
    IngestSettings,
    ScoringSettings,
    ApiSettings,
    AlertingSettings,
)
BASE = {"DATABASE_URL": "postgresql://localhost/x"}


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, str]], None]:
    """Set the variables of a service's environment (the test runner's own left alone)."""

    def set_all(variables: dict[str, str]) -> None:
        for name, value in {**BASE, **variables}.items():
            monkeypatch.setenv(name, value)

    return set_all


def test_a_misspelt_prefix_stops_the_service_it_was_meant_for(environ: Setter) -> None:
    environ({"SCORNG_BATCH_SIZE": "5"})
    with pytest.raises(SettingsError, match="SCORNG_BATCH_SIZE looks like SCORING_BATCH_SIZE"):
        ScoringSettings.from_environment()


def test_an_unknown_variable_with_the_prefix_stops_it(environ: Setter) -> None:
    environ({"SCORING_BATCH": "5"})
    with pytest.raises(SettingsError, match="SCORING_BATCH is not a setting of this service"):
        ScoringSettings.from_environment()
    environ({"OPS_PROT": "9101"})
    with pytest.raises(SettingsError, match="OPS_PROT"):
        IngestSettings.from_environment()


def test_a_misspelt_common_setting_stops_every_service(environ: Setter) -> None:
    environ({"DATABSE_URL": "x"})
    for settings in SERVICES:
        with pytest.raises(SettingsError, match="DATABSE_URL looks like DATABASE_URL"):
            settings.from_environment()


def test_one_environment_for_all_services_refuses_nothing() -> None:
    """`make run` and compose give every service the variables of all of them."""
    everyone = {name: "" for settings in SERVICES for name in variable_names(settings)}
    for settings in SERVICES:
        assert stray_variables(settings, everyone) == [], settings.__name__


def test_the_environment_of_a_machine_is_left_alone() -> None:
    machine = {"PATH": "/usr/bin", "HOME": "/root", "PYTHONPATH": ".", "LANG": "C.UTF-8"}
    for settings in SERVICES:
        assert stray_variables(settings, {**BASE, **machine}) == []


def test_the_names_of_the_last_release_still_work(environ: Setter) -> None:
    old = {"ALERT_WATCH_SECONDS": "7", "WEBHOOK_MAX_ATTEMPTS": "4", "ALERT_MAX_AGE_HOURS": "2"}
    environ(old)
    settings = AlertingSettings.from_environment()
    assert settings.alerting_watch_seconds == timedelta(seconds=7)
    assert settings.alerting_webhook_max_attempts == 4
    assert old_names_in_use(AlertingSettings, old) == {
        "ALERT_WATCH_SECONDS": "ALERTING_WATCH_SECONDS",
        "WEBHOOK_MAX_ATTEMPTS": "ALERTING_WEBHOOK_MAX_ATTEMPTS",
    }
    scoring = ScoringSettings.from_environment()
    assert scoring.scoring_alert_max_age_hours == timedelta(hours=2)


def test_durations_are_read_in_the_unit_their_name_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/x")
    monkeypatch.setenv("SCORING_ALERT_MAX_AGE_HOURS", "1.5")
    monkeypatch.setenv("SCORING_IDLE_POLL_SECONDS", "0.25")
    monkeypatch.setenv("OPS_STALL_SECONDS", "PT2M")  # ISO 8601 works too
    settings = ScoringSettings()
    assert settings.scoring_alert_max_age_hours == timedelta(hours=1, minutes=30)
    assert settings.scoring_idle_poll_seconds == timedelta(milliseconds=250)
    assert settings.ops_stall_seconds == timedelta(minutes=2)
    monkeypatch.setenv("ALERTING_DEAD_LETTER_WINDOW_MINUTES", "3")
    assert AlertingSettings().alerting_dead_letter_window_minutes == timedelta(minutes=3)


def test_a_duration_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/x")
    monkeypatch.setenv("SCORING_IDLE_POLL_SECONDS", "0")
    with pytest.raises(ValueError, match="scoring_idle_poll_seconds"):
        ScoringSettings()
