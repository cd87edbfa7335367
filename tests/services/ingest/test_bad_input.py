"""Hostile input through the real ingest and scoring, into a real PostgreSQL.

Hypothesis draws batches of records: valid events with fields of the wrong type, missing or
full of hostile text, impossible dates, huge payloads, raw bytes, unknown units and procedures,
statuses that go backwards. Ingest must never raise; every record is accounted for once (stored,
duplicate or dead-lettered with a reason); scoring must apply whatever was accepted; and the
counts must rebuild exactly from the store (`verify`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.service import IngestService
from services.scoring.settings import ScoringSettings
from services.scoring.verify import verify
from shared.clock import ManualClock
from shared.db import create_engine, create_sessionmaker
from shared.events import DossierStatus, TopicKind, parse_events
from tests.services.ingest.test_service import scalar
from tests.support.factories import dossier_event, feedback_event, procedure_event, unit_event
from tests.support.harness import PROVINCE
from tests.support.store import step_until_idle

NOW = datetime.now(UTC).replace(microsecond=0)
TOPICS: dict[str, TopicKind] = {"d": "dossier", "c": "catalog", "f": "feedback"}
STATUSES = [status.value for status in DossierStatus]

hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "'; DROP TABLE events; --",
            "<script>alert(1)</script>",
            "\u0000nul\u0000",
            "\u202eRTL override",
            "Sở Tư pháp 🏛️" * 20,
            "a" * 300,
            "../../etc/passwd",
            "${jndi:ldap://x}",
        ]
    ),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
codes = st.from_regex(r"[A-Za-z0-9.\-]{1,20}", fullmatch=True)
# Naive bounds are what hypothesis asks for; the times drawn are aware (UTC).
instants = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@st.composite
def dossier_story(draw: st.DrawFn) -> list[tuple[str, bytes]]:
    """One dossier of an unknown (or known) unit, its statuses in any order, times anywhere."""
    code = draw(codes)
    unit = draw(st.sampled_from(["SO-TP", "SO-NV"]) | codes)
    received = NOW - timedelta(hours=draw(st.integers(1, 24 * 60)))
    statuses = draw(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=5))
    story = []
    for index, status in enumerate(statuses):
        at = received + timedelta(hours=draw(st.integers(-48, 96)))
        event = dossier_event(
            code,
            status,
            at,
            unit_code=unit,
            received_at=received.isoformat(),
            due_at=(received + timedelta(days=draw(st.integers(-3, 20)))).isoformat(),
            procedure_code=draw(codes),
        )
        event["event_id"] = f"{code}-{index}"
        story.append(("d", json.dumps(event).encode()))
    return story


@st.composite
def damaged(draw: st.DrawFn) -> list[tuple[str, bytes]]:
    """A valid event of any topic with fields changed, dropped or added."""
    at = NOW - timedelta(days=1)
    base, topic = draw(
        st.sampled_from(
            [
                (dossier_event("D-1", "RECEIVED", at, received_at=at.isoformat()), "d"),
                (unit_event("SO-X", "Sở X", "DEPARTMENT", at), "c"),
                (procedure_event("P-X", at), "c"),
                (feedback_event("F-1", "RECEIVED", at), "f"),
            ]
        )
    )
    event = dict(base, event_id=draw(codes))
    for name in draw(st.sets(st.sampled_from(sorted(event)), max_size=2)):
        del event[name]
    changes = draw(
        st.dictionaries(
            st.sampled_from([*sorted(base), "extra"]),
            json_values | instants.map(lambda i: i.isoformat()) | hostile_text,
            max_size=3,
        )
    )
    return [(topic, json.dumps({**event, **changes}).encode())]


raw = st.one_of(
    st.binary(max_size=200),
    st.just(b'{"event_id": "big", "schema_version": 1, "pad": "' + b"x" * 70_000 + b'"}'),
    st.just(b"\xff\xfe\x00"),
).map(lambda value: [("d", value)])
batches = st.lists(dossier_story() | damaged() | raw, min_size=1, max_size=12).map(
    lambda groups: [record for group in groups for record in group]
)


@dataclass(frozen=True, slots=True)
class FakeRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int = -1


@dataclass
class Tally:
    batches: int = 0
    records: int = 0
    refused: int = 0


def test_hostile_batches_are_stored_or_dead_lettered_and_scored_without_a_crash(
    db_url: str,
) -> None:
    service = IngestService(ManualClock(NOW), "fuzz", {t: t for t in TOPICS.values()})
    offsets = itertools.count()
    clock = ManualClock(NOW)
    tally = Tally()

    async def ingest_and_score(records: list[FakeRecord]) -> None:
        engine = create_engine(db_url, application_name="test")
        try:
            async with create_sessionmaker(engine).begin() as session:
                report = await service.process(session, records)
        finally:
            await engine.dispose()
        refused = {
            r.offset
            for r in records
            if parse_events(r.value, topic=service.topics[r.topic], now=NOW).refused
        }
        lettered = {d.offset: d.reason for d in report.dead_letters}
        # Every record the contract refuses is dead-lettered with a reason (and so is an event_id
        # reused with other content); the rest are stored or known duplicates.
        assert refused <= set(lettered)
        assert all(reason.strip() for reason in lettered.values())
        assert report.offered == report.stored + report.duplicates + len(report.dead_letters)
        await step_until_idle(db_url, clock)
        tally.batches += 1
        tally.records += len(records)
        tally.refused += len(lettered)

    # Hypothesis runs plain functions: each example gets its own event loop.
    @settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(batch=batches)
    def run(batch: list[tuple[str, bytes]]) -> None:
        records = [FakeRecord(TOPICS[t], 0, next(offsets), b"k", value) for t, value in batch]
        asyncio.run(ingest_and_score(records))

    run()
    assert asyncio.run(scalar(db_url, "SELECT count(*) FROM dead_letters")) == tally.refused
    differences = asyncio.run(verify(ScoringSettings(database_url=db_url, province_code=PROVINCE)))
    assert differences == []
    print(
        f"\nfuzzed through ingest and scoring: {tally.records} records in {tally.batches} "
        f"batches, {tally.refused} dead-lettered with a reason, verify clean"
    )
