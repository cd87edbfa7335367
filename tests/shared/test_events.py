"""Contract v1 validation: every refusal has a reason a person can act on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shared.events import (
    EARLIEST_PLAUSIBLE,
    LATEST_PLAUSIBLE,
    DossierStatusEvent,
    RatingEvent,
    Refusal,
    UnitEvent,
    format_instant,
    normalized_payload,
    parse_record,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
VALID = {
    "event_id": "ev-1",
    "schema_version": 1,
    "source": "motcua-thainguyen",
    "occurred_at": "2026-11-20T08:00:00+07:00",
    "dossier_code": "H19.01-261120-0001",
    "unit_code": "000.00.19.H60",
    "procedure_code": "1.004227",
    "status": "RECEIVED",
    "due_at": "2026-11-25T17:00:00+07:00",
    "channel": "ONLINE",
    "fee_required": True,
}


def parse(document: object, **kwargs: object) -> object:
    return parse_record(orjson.dumps(document), now=NOW, **kwargs)  # type: ignore[arg-type]


def test_a_valid_event_is_accepted_and_normalised_to_utc() -> None:
    event = parse(VALID)
    assert isinstance(event, DossierStatusEvent)
    payload = normalized_payload(event)
    # RECEIVED without received_at: the desk accepting it is the event itself.
    assert payload["received_at"] == "2026-11-20T01:00:00.000000+00:00"
    assert payload["due_at"] == "2026-11-25T10:00:00.000000+00:00"
    assert "paid_online" not in payload  # unknown, not false


@given(
    # Wall-clock times around both ends of the plausible years and in the simulated month, with
    # any offset a zone may have.
    day=st.sampled_from(
        [datetime(2014, 12, 30, tzinfo=UTC), datetime(2099, 12, 30, tzinfo=UTC), NOW]
    ),
    seconds=st.integers(0, 3 * 86_400),
    offset_minutes=st.integers(-14 * 60, 14 * 60),
)
# 2014-12-31 20:00 at -07:00 is 2015-01-01 03:00 UTC: plausible, though its own year is not.
@example(day=datetime(2014, 12, 30, tzinfo=UTC), seconds=44 * 3600, offset_minutes=-7 * 60)
# 2099-12-31 20:00 at -07:00 is 2100-01-01 03:00 UTC: past the end.
@example(day=datetime(2099, 12, 30, tzinfo=UTC), seconds=44 * 3600, offset_minutes=-7 * 60)
@settings(max_examples=300)
def test_a_time_is_plausible_by_its_instant_whatever_its_offset(
    day: datetime, seconds: int, offset_minutes: int
) -> None:
    local = day + timedelta(seconds=seconds)
    due_at = local.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    received_at = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    result = parse(VALID | {"received_at": received_at.isoformat(), "due_at": due_at.isoformat()})
    if not EARLIEST_PLAUSIBLE <= due_at <= LATEST_PLAUSIBLE:
        assert isinstance(result, Refusal)
        assert "is outside 2015-2100" in result.reason
    elif due_at < received_at:
        assert isinstance(result, Refusal)
        assert "due_at is before received_at" in result.reason
    else:
        assert isinstance(result, DossierStatusEvent)
        # Stored in UTC, fixed width, whatever offset it came with.
        assert normalized_payload(result)["due_at"] == format_instant(due_at)
        assert normalized_payload(result)["due_at"].endswith("+00:00")


def test_ratings_and_units_are_told_apart_by_type() -> None:
    rating = {**{k: VALID[k] for k in ("event_id", "schema_version", "source", "occurred_at")}}
    rating |= {"type": "RATING", "dossier_code": "D1", "unit_code": "U1", "rating": "UNSATISFIED"}
    assert isinstance(parse(rating), RatingEvent)
    unit = {k: VALID[k] for k in ("event_id", "schema_version", "source", "occurred_at")}
    unit |= {"type": "UNIT", "unit_code": "U1", "name": "Sở Tư pháp", "level": "DEPARTMENT"}
    assert isinstance(parse(unit, topic="catalog"), UnitEvent)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"occurred_at": "2026-11-20T08:00:00"}, "occurred_at: Input should have timezone info"),
        ({"status": "DONE"}, "status: Input should be"),
        ({"fee_required": "yes"}, "fee_required: Input should be a valid boolean"),
        ({"dossier_code": None}, "dossier_code: Input should be a valid string"),
        ({"unit_code": "x" * 65}, "unit_code: String should have at most 64 characters"),
        ({"dossier_code": "H1; DROP TABLE events"}, "dossier_code: String should match pattern"),
        ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
        ({"schema_version": 2}, "schema_version: unsupported 2"),
        ({"occurred_at": "2027-01-01T00:00:00+07:00"}, "is in the future"),
        ({"received_at": "1999-01-01T00:00:00+07:00"}, "is outside 2015-2100"),
        (
            {"due_at": "2026-11-01T00:00:00+07:00", "received_at": "2026-11-20T08:00:00+07:00"},
            "due_at is before received_at",
        ),
    ],
)
def test_malformed_events_are_refused_with_the_field_and_the_reason(
    change: dict[str, object], reason: str
) -> None:
    result = parse(VALID | change)
    assert isinstance(result, Refusal)
    assert reason in result.reason
    assert result.event_id == "ev-1"


def test_a_missing_field_is_named() -> None:
    document = dict(VALID)
    del document["unit_code"]
    result = parse(document)
    assert isinstance(result, Refusal)
    assert "unit_code: Field required" in result.reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (None, "empty record"),
        (b'{"pad": "' + b"x" * 70_000 + b'"}', "exceeds the 65536-byte limit"),
        # PostgreSQL cannot store U+0000: refused, never a failed insert that blocks a partition.
        (b'{"event_id": "ok", "name": "a\\u0000b"}', "NUL character"),
        (b'{"event_id": "ok", "x": [{"\\u0000": 1}]}', "NUL character"),
        # Deeper than Python's recursion limit, within orjson's: refused, never a crash.
        (b'{"x": ' + b"[" * 1020 + b"]" * 1020 + b"}", "schema_version"),
    ],
)
def test_records_that_are_not_events_are_refused(raw: bytes | None, reason: str) -> None:
    result = parse_record(raw, now=NOW)
    assert isinstance(result, Refusal)
    assert reason in result.reason


def test_a_refusal_keeps_only_a_well_formed_event_id() -> None:
    kept = parse_record(orjson.dumps({**VALID, "status": "?"}), now=NOW)
    dropped = parse_record(orjson.dumps({**VALID, "event_id": "a b;", "status": "?"}), now=NOW)
    assert isinstance(kept, Refusal)
    assert kept.event_id == VALID["event_id"]
    assert isinstance(dropped, Refusal)
    assert dropped.event_id is None


def test_the_published_json_schema_is_the_one_the_code_validates() -> None:
    from pathlib import Path

    from shared.events import contract_json_schema

    published = Path(__file__).parents[2] / "docs" / "schemas" / "events-v1.json"
    assert orjson.loads(published.read_bytes()) == contract_json_schema(), (
        "regenerate with: python -m shared.events > docs/schemas/events-v1.json"
    )
