"""The pure parts of alerting: when a measure has fallen, the retry schedule, the schema."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.alerting.repository import Watch
from services.alerting.watch import watch_fall, watch_flag
from services.alerting.webhooks import RetryPolicy, signature
from shared.alerts import Alert, Level


def test_a_fall_is_measured_from_the_best_value_and_counted() -> None:
    watch, fell = watch_fall(None, 80.0, 2)
    assert (watch, fell) == (Watch(80.0, 0), False)  # first look: a baseline, no alert
    watch, fell = watch_fall(watch, 85.0, 2)
    assert (watch, fell) == (Watch(85.0, 0), False)
    watch, fell = watch_fall(watch, 83.5, 2)
    assert (watch, fell) == (Watch(85.0, 0), False)  # 1.5 below the best: not yet
    watch, fell = watch_fall(watch, 83.0, 2)
    assert (watch, fell) == (Watch(83.0, 1), True)  # 2 below: the first fall, from here on
    watch, fell = watch_fall(watch, 82.0, 2)
    assert fell is False


def test_rank_falls_are_places_down() -> None:
    watch, _ = watch_fall(None, 3, 5, higher_is_better=False)
    watch, fell = watch_fall(watch, 1, 5, higher_is_better=False)
    assert (watch, fell) == (Watch(1, 0), False)
    watch, fell = watch_fall(watch, 6, 5, higher_is_better=False)
    assert (watch, fell) == (Watch(6, 1), True)


def test_a_condition_raises_when_it_begins_not_while_it_lasts() -> None:
    watch, began = watch_flag(None, True)
    assert (watch, began) == (Watch(1, 1), True)
    watch, began = watch_flag(watch, True)
    assert began is False
    watch, began = watch_flag(watch, False)
    watch, began = watch_flag(watch, True)
    assert (watch, began) == (Watch(1, 2), True)


@given(
    st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=1, max_size=40),
    st.floats(min_value=0.1, max_value=10),
)
def test_looking_again_at_the_same_value_never_raises_twice(
    values: list[float], threshold: float
) -> None:
    watch: Watch | None = None
    raised = 0
    for value in values:
        before = watch
        watch, fell = watch_fall(watch, value, threshold)
        if fell:  # a fall is `threshold` below the best value seen since the last one
            assert before is not None
            assert before.baseline - value >= threshold
            raised += 1
        again, fell_again = watch_fall(watch, value, threshold)
        assert (again, fell_again) == (watch, False)
    assert watch is not None
    assert watch.raised == raised


def test_retries_back_off_exponentially_up_to_a_cap() -> None:
    policy = RetryPolicy(10, timedelta(seconds=5), timedelta(minutes=1))
    assert [policy.delay(n).total_seconds() for n in range(1, 6)] == [5, 10, 20, 40, 60]
    assert policy.delay(500) == timedelta(minutes=1)


def test_the_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    body = b'{"alert_id":"x"}'
    expected = hmac.new(b"whsec_s", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("whsec_s", 1700000000, body) == f"v1={expected}"
    assert signature("whsec_s", 1700000001, body) != f"v1={expected}"


def test_levels_filter_at_least() -> None:
    assert Level.WARNING.at_least() == ["warning", "critical"]
    assert Level.INFO.at_least() == ["info", "warning", "critical"]


def test_the_schema_is_versioned_and_refuses_unknown_fields() -> None:
    schema = Alert.model_json_schema(by_alias=True)
    assert schema["properties"]["schema"]["const"] == "chiso766.alert/1"
    assert {"alert_id", "kind", "level", "details"} <= set(schema["required"])
    assert schema["additionalProperties"] is False
