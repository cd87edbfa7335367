"""Replay a simulated province to a broker: the catalogue, a fast backfill, then a live stream.

python -m services.simulator --bootstrap-servers 127.0.0.1:9092 --backfill-weeks 3

The backfill goes a local day at a time. Kafka orders each partition alone, and a consumer of
several topics may read one partition far ahead of the others (the small feedback and catalogue
partitions first of all), so a backfill sent at once reaches the store with its days mixed up:
scored on its own time (`SCORING_HISTORY_FROM`), most of it would be late events. With
`--paced-by` (ingest's consumer group), each day waits until that group has committed every
record of the day before the next is sent, and the store holds the days in order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import itertools
import random
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

import orjson
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.simulator.catalogue import build_procedures, publication_events
from services.simulator.lifecycle import (
    LOCAL,
    DossierFactory,
    Emission,
    catalog_emissions,
    feedback,
    office_segments,
    office_weeks,
    working_instants,
)
from services.simulator.national import NationalItems, envelopes
from services.simulator.province import PROVINCE_NAME, build_province
from shared.kafka import ensure_topics
from shared.logging import configure_logging
from shared.signals import stop_on_signals

log = structlog.get_logger()


class Simulator:
    def __init__(
        self, seed: int, scale: float, malformed_rate: float, national: bool = False
    ) -> None:
        self.rng = random.Random(seed)
        self.units = build_province(seed)
        # The dossiers as their one-stop systems sync them to the national portal, if asked.
        self.national = NationalItems({u.code: u.name for u in self.units}) if national else None
        self.procedures = build_procedures(self.rng, self.units)
        # Communes share one list: each procedure once.
        self.catalogued = list({p.code: p for ps in self.procedures.values() for p in ps}.values())
        self.factory = DossierFactory(self.rng)
        self.scale = scale
        self.malformed_rate = malformed_rate
        # (time, serial, emission): the serial keeps the heap from comparing events.
        self.pending: list[tuple[datetime, int, Emission]] = []
        self.serial = 0
        self.feedback_serial = 0

    def catalog(self, at: datetime) -> list[Emission]:
        return catalog_emissions(self.rng, self.units, self.catalogued, at, PROVINCE_NAME)

    def publications(self, first: date, last: date) -> None:
        """Queue the publishing decisions made between two days, and their publication."""
        for procedure in self.catalogued:
            for at, event in publication_events(self.rng, procedure, first, last, LOCAL):
                self._queue([Emission(at.astimezone(UTC), "catalog", procedure.code, event)])

    def receive(self, start: datetime, end: datetime) -> None:
        """Draw the dossiers received in [start, end) and queue all their events."""
        # Dossiers arrive in office hours only: a night or a Sunday receives none.
        segments = office_segments(start, end)
        if not segments:
            return
        weeks = office_weeks(segments)
        for unit in self.units:
            expected = unit.profile.dossiers_per_week * self.scale * weeks
            count = int(expected) + (self.rng.random() < expected % 1)
            procedures = self.procedures[unit.code]
            weights = [p.popularity for p in procedures]
            for received_at in working_instants(self.rng, segments, count):
                procedure = self.rng.choices(procedures, weights)[0]
                emissions = self.factory.dossier(unit, procedure, received_at)
                self._queue(self.national.dossier(emissions) if self.national else emissions)
            # About one citizen's feedback for every hundred dossiers.
            expected /= 100
            count = int(expected) + (self.rng.random() < expected % 1)
            for received_at in working_instants(self.rng, segments, count):
                self.feedback_serial += 1
                self._queue(feedback(self.rng, unit, self.feedback_serial, received_at))

    def _queue(self, emissions: list[Emission]) -> None:
        for emission in emissions:
            self.serial += 1
            heapq.heappush(self.pending, (emission.at, self.serial, emission))

    def due(self, now: datetime) -> list[Emission]:
        """Queued events that have happened by `now`, oldest first."""
        ready = []
        while self.pending and self.pending[0][0] <= now:
            ready.append(heapq.heappop(self.pending)[2])
        return ready

    def encode(self, emission: Emission) -> bytes:
        event = emission.event
        if self.rng.random() < self.malformed_rate:
            event = dict(event)
            damage = self.rng.choice(["unit", "status", "time", "json"])
            if damage == "json":
                return b'{"event_id": "' + str(event["event_id"]).encode() + b'", truncated'
            if damage == "unit":
                event.pop("unit_code", None)
            elif damage == "status":
                event["status"] = "DA_XU_LY"
            else:
                event["occurred_at"] = event["occurred_at"][:19]  # no offset
            event["event_id"] += "-damaged"
        encoded: bytes = orjson.dumps(event)
        return encoded


# Sent records: the last offset of each partition.
Sent = dict[TopicPartition, int]
# How long a day of the backfill may take to be consumed before the next goes anyway.
PACE_TIMEOUT_SECONDS = 120.0


async def send(
    producer: AIOKafkaProducer, topics: dict[str, str], simulator: Simulator, batch: list[Emission]
) -> Sent:
    futures = [
        await producer.send(topics[e.topic], key=e.key.encode(), value=simulator.encode(e))
        for e in batch
        if not e.national
    ]
    # Each envelope is stamped with when it was sent, the only date of a status that has none.
    for sent_at, envelope in envelopes(e for e in batch if e.national):
        futures.append(
            await producer.send(
                topics["dossier"],
                key=envelope["madonvi"].encode(),
                value=orjson.dumps(envelope),
                timestamp_ms=int(sent_at.timestamp() * 1000),
            )
        )
    sent: Sent = {}
    for record in await asyncio.gather(*futures):
        tp = TopicPartition(record.topic, record.partition)
        sent[tp] = max(record.offset, sent.get(tp, -1))
    return sent


class Consumed:
    """How far a consumer group has committed: a consumer of its group that never subscribes,
    so it asks for the offsets without joining the group."""

    def __init__(self, bootstrap_servers: str, group: str) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, group_id=group, enable_auto_commit=False
        )

    async def __aenter__(self) -> Consumed:
        await self.consumer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.consumer.stop()

    async def past(self, sent: Mapping[TopicPartition, int], stop: asyncio.Event) -> bool:
        """Wait until the group has committed past every record `sent`; False if it had not
        after `PACE_TIMEOUT_SECONDS`."""
        deadline = time.monotonic() + PACE_TIMEOUT_SECONDS
        waiting = dict(sent)
        while waiting and not stop.is_set() and time.monotonic() < deadline:
            for tp, offset in list(waiting.items()):
                committed = await self.consumer.committed(tp)
                if committed is not None and committed > offset:
                    del waiting[tp]
            if waiting:
                await asyncio.sleep(0.2)
        return not waiting


async def backfill(
    producer: AIOKafkaProducer,
    topics: dict[str, str],
    simulator: Simulator,
    events: list[Emission],
    consumed: Consumed | None,
    stop: asyncio.Event,
) -> None:
    """Send `events` (oldest first) a local day at a time, each day consumed before the next
    when `consumed` says how far ingest is."""
    for day, emissions in itertools.groupby(events, key=lambda e: e.at.astimezone(LOCAL).date()):
        of_day = list(emissions)
        sent: Sent = {}
        for index in range(0, len(of_day), 5000):
            sent |= await send(producer, topics, simulator, of_day[index : index + 5000])
        if consumed is not None and not await consumed.past(sent, stop):
            log.warning("simulator.backfill_not_consumed", day=day.isoformat())


async def simulate(args: argparse.Namespace, stop: asyncio.Event) -> None:
    topics = {
        "dossier": args.dossier_topic,
        "catalog": args.catalog_topic,
        "feedback": args.feedback_topic,
    }
    await ensure_topics(args.bootstrap_servers, topics.values())
    producer = AIOKafkaProducer(
        bootstrap_servers=args.bootstrap_servers, linger_ms=20, max_batch_size=256 * 1024
    )
    await producer.start()
    simulator = Simulator(args.seed, args.scale, args.malformed_rate, args.national)
    try:
        now = datetime.now(UTC)
        start = now - timedelta(weeks=args.backfill_weeks)
        async with contextlib.AsyncExitStack() as paced:
            consumed = None
            if args.paced_by:
                consumed = await paced.enter_async_context(
                    Consumed(args.bootstrap_servers, args.paced_by)
                )
            catalogue = simulator.catalog(start - timedelta(days=1))
            await backfill(producer, topics, simulator, catalogue, consumed, stop)
            local_start = start.astimezone(LOCAL).date()
            simulator.publications(
                local_start - timedelta(weeks=2), local_start + timedelta(weeks=12)
            )
            simulator.receive(start, now)
            events = simulator.due(now)
            await backfill(producer, topics, simulator, events, consumed, stop)
        log.info("simulator.backfilled", events=len(events), units=len(simulator.units))
        if not args.live:
            return
        last = now
        while not stop.is_set():
            await asyncio.sleep(1)
            now = datetime.now(UTC)
            # Live arrivals run `live_speed` times faster than the province's real pace.
            simulator.receive(last, last + (now - last) * args.live_speed)
            ready = simulator.due(now)
            await send(producer, topics, simulator, ready)
            last = now
    finally:
        await producer.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="simulator", description=__doc__)
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--dossier-topic", default="dossier.events")
    parser.add_argument("--catalog-topic", default="catalog.events")
    parser.add_argument("--feedback-topic", default="feedback.events")
    parser.add_argument("--backfill-weeks", type=float, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="volume multiplier (1 = real)")
    parser.add_argument("--live-speed", type=float, default=20, help="live arrival multiplier")
    parser.add_argument("--malformed-rate", type=float, default=0.0005)
    parser.add_argument("--seed", type=int, default=766)
    parser.add_argument("--no-live", dest="live", action="store_false")
    parser.add_argument(
        "--paced-by",
        metavar="GROUP",
        help="send the backfill a day at a time, each consumed by this consumer group (ingest's)"
        " before the next: the store then holds the days in order",
    )
    parser.add_argument(
        "--national",
        action="store_true",
        help="send the dossiers as the DongBoHoSoMC items of the national sync, in envelopes",
    )
    return parser.parse_args(argv)


async def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging("INFO", json=False, service="simulator")
    await simulate(args, stop_on_signals())


def run() -> None:
    asyncio.run(main())
