"""The simulated province's dossier events, bulk-loaded into the event store as ingest stores them.

The events go through the contract's door (`shared.events.parse_record`, `normalized_payload`),
so the stored payloads are exactly what ingest would store; the load itself is one COPY, since
what is measured after it is scoring, not ingest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from services.simulator.main import Simulator
from shared.events import Refusal, event_kind, event_subject, normalized_payload, parse_record

EVENT_COLUMNS = (
    "event_id",
    "kind",
    "subject",
    "occurred_at",
    "payload",
    "payload_hash",
    "source_topic",
    "source_partition",
    "source_offset",
)
# Any 32 bytes: nothing downstream of ingest reads it.
PAYLOAD_HASH = bytes(32)


@dataclass(frozen=True, slots=True)
class History:
    weeks: float
    scale: float
    rows: list[tuple[Any, ...]]
    seconds_to_simulate: float

    @property
    def events(self) -> int:
        return len(self.rows)

    def label(self) -> str:
        scale = "" if self.scale == 1 else f" at scale {self.scale:g}"
        return f"{self.weeks:g} weeks{scale}"


def simulate(weeks: float, scale: float = 1.0, seed: int = 766) -> History:
    """The dossier events of `weeks` of the simulated province up to now, as event store rows."""
    started = time.perf_counter()
    simulator = Simulator(seed=seed, scale=scale, malformed_rate=0)
    now = datetime.now(UTC)
    simulator.receive(now - timedelta(weeks=weeks), now)
    rows: list[tuple[Any, ...]] = []
    for emission in simulator.due(now):
        if emission.topic != "dossier":
            continue  # the replay measures dossier events, the bulk of the stream
        event = parse_record(orjson.dumps(emission.event), now=now)
        if isinstance(event, Refusal):
            raise AssertionError(f"the simulator made an event the contract refuses: {event}")
        payload = orjson.dumps(normalized_payload(event)).decode()
        rows.append(
            (
                event.event_id,
                event_kind(event),
                event_subject(event),
                event.occurred_at,
                payload,
                PAYLOAD_HASH,
                "dossier.events",
                0,
                len(rows),
            )
        )
    return History(weeks, scale, rows, time.perf_counter() - started)


async def load(url: str, history: History) -> float:
    """COPY the events into `events` (then ANALYZE, as autovacuum would); seconds taken."""
    started = time.perf_counter()
    connection = await asyncpg.connect(url)
    try:
        await connection.copy_records_to_table(
            "events", records=history.rows, columns=EVENT_COLUMNS
        )
        await connection.execute("ANALYZE events")
    finally:
        await connection.close()
    return time.perf_counter() - started
