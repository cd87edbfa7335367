"""Freshness: from an event produced to Kafka by a plain client to the change visible in the API.

    python -m bench.bench_freshness --samples 30

Runs a Tansu broker, ingest, scoring and the api in this process against a fresh database on the
local PostgreSQL, then times each event until `/units/{code}` shows it.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
from aiokafka import AIOKafkaProducer

from bench.stack import fresh_stack, summary
from shared.kafka import ensure_topics
from tests.support import harness
from tests.support.factories import encode, received, unit_event


async def measure(db_url: str, broker: str, samples: int) -> list[float]:
    topics = SimpleNamespace(dossier="dossier.events", catalog="catalog.events", dead_letter="dlq")
    await ensure_topics(broker, ["dossier.events", "catalog.events", "dlq"])
    now = datetime.now(UTC)
    await harness.produce(
        broker, "catalog.events", [unit_event("SO-TP", "Sở Tư pháp", "DEPARTMENT", now)]
    )
    latencies = []
    async with (
        harness.running(harness.ingest(db_url, broker, topics)),
        harness.running(harness.scoring(db_url, broker, topics)),
        harness.api_client(db_url, broker, topics) as client,
    ):
        await harness.eventually(lambda: _unit_known(client), within=60)
        producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
        await producer.start()
        try:
            for index in range(1, samples + 1):
                event = received(f"F{index}", datetime.now(UTC) - timedelta(minutes=5))
                started = time.perf_counter()
                await producer.send_and_wait("dossier.events", encode(event), key=b"k")

                async def visible(expected: int = index) -> bool:
                    body = (await client.get("/units/SO-TP", params={"period": "week"})).json()
                    ontime = next(i for i in body["indicators"] if i["id"] == "1.4")
                    return ontime["denominator"] >= expected

                await harness.eventually(visible, within=30)
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(0.2)
        finally:
            await producer.stop()
    return latencies


async def _unit_known(client: httpx.AsyncClient) -> bool:
    """The catalogue event is scored: the whole pipeline is up."""
    return (await client.get("/units/SO-TP")).status_code == 200


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    with fresh_stack("fresh") as (url, broker):
        latencies = asyncio.run(measure(url, broker, args.samples))
    print(
        f"freshness over {len(latencies)} events (produce -> visible in /units): "
        f"{summary(latencies)}"
    )


if __name__ == "__main__":
    main()
