"""Freshness under read load: single dossier events produced to Kafka while wrk loads
`/rankings`, each timed until the api shows it.

Each event is a dossier received by a unit of the bench's own (`bench-fresh`), so the count it
moves (indicator 1.4's denominator for the week) moves for nothing else. Beside each sample, one
`/livez` round trip under the same load: the anchor of this figure.

Where each sample's time went is read afterwards from what the database kept, so that nothing
polls it meanwhile: when ingest's transaction storing the event began (`events.stored_at`), and
the instant scoring's step that applied it stood at (`dossiers.evaluated_at`, the clock when the
step had read its events: the last step to evaluate the dossier, which for a dossier of one
event due days ahead is that one). The rest is that step's work and commit, the api hearing of
it, and its render. The clocks are this machine's one clock.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from bench import wrk
from bench.reads import RANKINGS
from bench.report import median, ms, say
from tests.support.factories import encode, received

UNIT = "bench-fresh"
TOPIC = "dossier.events"
POLL_SECONDS = 0.01


@dataclass(frozen=True, slots=True)
class Stages:
    """One sample's time from its send to: ingest's transaction, scoring's step, the api."""

    stored: float
    scored: float
    visible: float


@dataclass(frozen=True, slots=True)
class Freshness:
    latencies: list[float]
    livez: list[float]
    load: wrk.WrkResult
    stages: list[Stages]


_STAGES = """
SELECT e.event_id, extract(epoch FROM e.stored_at), extract(epoch FROM d.evaluated_at)
FROM events e JOIN dossiers d ON d.dossier_code = e.subject
WHERE e.event_id = ANY($1::text[])
"""


def stages_summary(found: list[Stages]) -> str:
    """The median and the worst sample's time to each stage."""
    if not found:
        return "no sample's stages found"
    parts = []
    for label, of in (
        ("ingest's transaction", lambda s: s.stored),
        ("scoring's step", lambda s: s.scored),
        ("the api's answer", lambda s: s.visible),
    ):
        values = sorted(of(sample) for sample in found)
        parts.append(f"{label} {ms(median(values))} (worst {ms(values[-1])})")
    return f"from the send to {', to '.join(parts)}, median of {len(found)} samples"


async def stages(db_url: str, sent: dict[str, tuple[float, float]]) -> list[Stages]:
    """Each sample's stages, from its event id: (sent, visible) in `time.time()` seconds."""
    connection = await asyncpg.connect(db_url)
    try:
        rows = await connection.fetch(_STAGES, list(sent))
    finally:
        await connection.close()
    found = []
    for event_id, stored_at, evaluated_at in rows:
        at, seen = sent[event_id]
        found.append(Stages(float(stored_at) - at, float(evaluated_at) - at, seen - at))
    return found


async def _received(client: httpx.AsyncClient) -> int:
    response = await client.get(f"/units/{UNIT}", params={"period": "week"})
    if response.status_code != 200:
        return 0
    indicator = next(i for i in response.json()["indicators"] if i["id"] == "1.4")
    return int(indicator["denominator"])


async def _visible(client: httpx.AsyncClient, expected: int, within: float = 30) -> None:
    deadline = time.perf_counter() + within
    while await _received(client) < expected:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"event {expected} of {UNIT} not visible after {within} s")
        await asyncio.sleep(POLL_SECONDS)


async def _send(kafka: AIOKafkaProducer, index: int) -> str:
    """Send one sample's event; its id."""
    code = f"BENCH-FRESH-{index}-{time.time_ns()}"
    event = received(code, datetime.now(UTC) - timedelta(seconds=2), unit_code=UNIT)
    event["event_id"] = f"{code}-received"
    await kafka.send_and_wait(TOPIC, encode(event), key=code.encode())
    return str(event["event_id"])


async def measure(
    base_url: str, db_url: str, broker: str, samples: int, load: wrk.Load, pause: float = 0.2
) -> Freshness:
    kafka = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
    await kafka.start()
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            seen = await _received(client)
            await _send(kafka, 0)  # the unit is made, and the path warm, before the load
            seen += 1
            await _visible(client, seen, within=60)
            started = time.perf_counter()
            loading = asyncio.create_task(wrk.run(base_url + RANKINGS, load))
            await asyncio.sleep(1)  # wrk at full load
            latencies, livez = [], []
            walls: dict[str, tuple[float, float]] = {}
            for index in range(1, samples + 1):
                # Samples only while the load lasts: stop with two seconds to spare.
                if time.perf_counter() - started > load.seconds - 2:
                    break
                sent, wall = time.perf_counter(), time.time()
                event_id = await _send(kafka, index)
                seen += 1
                await _visible(client, seen)
                latencies.append(time.perf_counter() - sent)
                walls[event_id] = (wall, wall + latencies[-1])
                trip = time.perf_counter()
                (await client.get("/livez")).raise_for_status()
                livez.append(time.perf_counter() - trip)
                await asyncio.sleep(pause)
            result = await loading
    finally:
        await kafka.stop()
    say(f"freshness under load: {len(latencies)} samples")
    return Freshness(latencies, livez, result, await stages(db_url, walls))
