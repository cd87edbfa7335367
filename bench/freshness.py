"""Freshness under read load: single dossier events produced to Kafka while wrk loads
`/rankings`, each timed until the api shows it.

Each event is a dossier received by a unit of the bench's own (`bench-fresh`), so the count it
moves (indicator 1.4's denominator for the week) moves for nothing else. Beside each sample, one
`/livez` round trip under the same load: the anchor of this figure.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from aiokafka import AIOKafkaProducer

from bench import wrk
from bench.reads import RANKINGS
from bench.report import say
from tests.support.factories import encode, received

UNIT = "bench-fresh"
TOPIC = "dossier.events"
POLL_SECONDS = 0.01


@dataclass(frozen=True, slots=True)
class Freshness:
    latencies: list[float]
    livez: list[float]
    load: wrk.WrkResult


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


async def _send(kafka: AIOKafkaProducer, index: int) -> None:
    code = f"BENCH-FRESH-{index}-{time.time_ns()}"
    event = received(code, datetime.now(UTC) - timedelta(seconds=2), unit_code=UNIT)
    event["event_id"] = f"{code}-received"
    await kafka.send_and_wait(TOPIC, encode(event), key=code.encode())


async def measure(
    base_url: str, broker: str, samples: int, load: wrk.Load, pause: float = 0.2
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
            for index in range(1, samples + 1):
                # Samples only while the load lasts: stop with two seconds to spare.
                if time.perf_counter() - started > load.seconds - 2:
                    break
                sent = time.perf_counter()
                await _send(kafka, index)
                seen += 1
                await _visible(client, seen)
                latencies.append(time.perf_counter() - sent)
                trip = time.perf_counter()
                (await client.get("/livez")).raise_for_status()
                livez.append(time.perf_counter() - trip)
                await asyncio.sleep(pause)
            result = await loading
    finally:
        await kafka.stop()
    say(f"freshness under load: {len(latencies)} samples")
    return Freshness(latencies, livez, result)
