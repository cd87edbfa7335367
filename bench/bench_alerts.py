"""Alert latency: from the causing event, or the due time, to the webhook and the Kafka topic.

    python -m bench.bench_alerts --samples 20

Runs a Tansu broker, ingest, scoring and the alerting process in this process against a fresh
database on the local PostgreSQL, with a webhook receiver on loopback and a consumer of
`index.alerts`. Two kinds of alert are timed:

- caused by an event: a dossier received with its due time already past is overdue at once;
  latency = arrival - the moment the event was produced;
- caused by time: a dossier due a few seconds ahead, with no further event;
  latency = arrival - its due time.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.stack import fresh_stack, summary
from services.alerting.main import serve as serve_alerting
from services.alerting.settings import AlertingSettings
from services.api import keys
from services.api.auth import Scope
from shared.kafka import ensure_topics
from tests.support import harness
from tests.support.factories import encode, received
from tests.support.http import Receiver, serving

TOPIC = "index.alerts"


async def measure(db_url: str, broker: str, samples: int) -> dict[str, list[float]]:
    topics = SimpleNamespace(dossier="dossier.events", catalog="catalog.events", dead_letter="dlq")
    await ensure_topics(broker, ["dossier.events", "catalog.events", "dlq", TOPIC])
    receiver = Receiver()
    kafka_arrivals: dict[str, float] = {}
    settings = AlertingSettings(
        **harness.common(db_url, broker, topics),
        topic_alerts=TOPIC,
        alerting_relay_poll_seconds=0.05,
        webhook_allowed_targets=("127.0.0.1",),
    )
    caused: dict[str, float] = {}  # dossier -> the instant the alert's cause happened
    async with serving(receiver.app()) as receiver_url:
        async with harness.api_client(db_url, broker, topics) as api:
            key = await keys.create(db_url, "bench", [Scope.WEBHOOKS])
            await api.post(
                "/webhooks", json={"url": f"{receiver_url}/hook"}, headers={"X-API-Key": key}
            )
        consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=broker, auto_offset_reset="earliest")
        await consumer.start()

        async def consume() -> None:
            async for record in consumer:
                body = orjson.loads(record.value)
                if body["kind"] == "dossier_overdue":
                    kafka_arrivals.setdefault(body["details"]["dossier_code"], time.time())

        reader = asyncio.create_task(consume())
        producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
        await producer.start()
        try:
            async with (
                harness.running(harness.ingest(db_url, broker, topics)),
                harness.running(harness.scoring(db_url, broker, topics)),
                harness.running(lambda stop: serve_alerting(settings, stop)),
            ):
                await asyncio.sleep(6)  # consumer groups join and settle
                for index in range(samples):
                    code = f"EV{index}"
                    now = datetime.now(UTC)
                    event = received(code, now - timedelta(days=1), due_in=timedelta(hours=23))
                    caused[code] = time.time()
                    await producer.send_and_wait("dossier.events", encode(event), key=b"k")
                    await asyncio.sleep(0.3)
                start = datetime.now(UTC)
                for index in range(samples):
                    due = start + timedelta(seconds=4 + index * 0.3)
                    code = f"DUE{index}"
                    event = received(
                        code, start - timedelta(hours=1), due_in=due - start + timedelta(hours=1)
                    )
                    caused[code] = due.timestamp()
                    await producer.send_and_wait("dossier.events", encode(event), key=b"k")

                async def complete() -> bool:
                    bodies = [orjson.loads(r.body) for r in receiver.received]
                    overdue = {
                        b["details"]["dossier_code"]
                        for b in bodies
                        if b["kind"] == "dossier_overdue"
                    }
                    return overdue >= caused.keys() and kafka_arrivals.keys() >= caused.keys()

                await harness.eventually(complete, within=60)
        finally:
            await producer.stop()
            reader.cancel()
            await consumer.stop()
    webhook: dict[str, float] = {}
    recorded: dict[str, float] = {}
    for r in receiver.received:
        body = orjson.loads(r.body)
        if body["kind"] == "dossier_overdue":
            webhook.setdefault(body["details"]["dossier_code"], r.at)
            recorded.setdefault(
                body["details"]["dossier_code"],
                datetime.fromisoformat(body["recorded_at"]).timestamp(),
            )
    return {
        "event -> recorded": [recorded[c] - caused[c] for c in caused if c.startswith("EV")],
        "event -> webhook": [webhook[c] - caused[c] for c in caused if c.startswith("EV")],
        "event -> index.alerts": [
            kafka_arrivals[c] - caused[c] for c in caused if c.startswith("EV")
        ],
        "due time -> webhook": [webhook[c] - caused[c] for c in caused if c.startswith("DUE")],
        "due time -> index.alerts": [
            kafka_arrivals[c] - caused[c] for c in caused if c.startswith("DUE")
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    with fresh_stack("alerts") as (url, broker):
        results = asyncio.run(measure(url, broker, args.samples))
    for label, latencies in results.items():
        print(f"alert latency, {label} ({len(latencies)} alerts): {summary(latencies)}")


if __name__ == "__main__":
    main()
