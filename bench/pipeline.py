"""End to end: the simulated province produced to Kafka, then ingest and scoring as processes.

The records are all in the broker before the services start; the figure is timed from their
start until ingest has offered every record (`ingest_counts.offered`) and scoring has applied
every stored event. The same stack then stays up for the read figures, with the simulator
streaming live into it (`LiveStream`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from aiokafka import AIOKafkaProducer

from bench import progress, waits
from bench.processes import Service, Services
from bench.report import say
from services.simulator.lifecycle import LOCAL, Emission
from services.simulator.main import Simulator, send
from shared.kafka import ensure_topics

TOPICS = {"dossier": "dossier.events", "catalog": "catalog.events", "feedback": "feedback.events"}
DEAD_LETTER = "dossier.events.dlq"
SERVICE_ENV = {"OPS_PORT": "0", "LOG_LEVEL": "WARNING", "LOG_JSON": "true"}


@dataclass
class Province:
    """The simulator, once its backfill is in the broker; it goes on streaming from there."""

    simulator: Simulator
    records: int
    produced_in: float
    until: datetime


def producer(broker: str) -> AIOKafkaProducer:
    # As the simulator sends: batched, so the backfill is in the broker in seconds.
    return AIOKafkaProducer(bootstrap_servers=broker, linger_ms=20, max_batch_size=256 * 1024)


async def produce_province(
    kafka: AIOKafkaProducer, broker: str, weeks: float, scale: float, seed: int = 766
) -> Province:
    """The catalogue, the publishing decisions and `weeks` of dossiers and feedback, sent."""
    await ensure_topics(broker, [*TOPICS.values(), DEAD_LETTER])
    simulator = Simulator(seed, scale, malformed_rate=0)
    now = datetime.now(UTC)
    start = now - timedelta(weeks=weeks)
    started = time.perf_counter()
    records = 0

    async def sent(batch: list[Emission]) -> None:
        nonlocal records
        await send(kafka, TOPICS, simulator, batch)
        records += len(batch)

    await sent(simulator.catalog(start - timedelta(days=1)))
    local_start = start.astimezone(LOCAL).date()
    simulator.publications(local_start - timedelta(weeks=2), local_start + timedelta(weeks=12))
    simulator.receive(start, now)
    backfill = simulator.due(now)
    for index in range(0, len(backfill), 5000):
        await sent(backfill[index : index + 5000])
    seconds = time.perf_counter() - started
    say(f"{records} records of {weeks:g} weeks produced to Kafka in {seconds:.1f} s")
    return Province(simulator, records, seconds, now)


@dataclass(frozen=True, slots=True)
class EndToEnd:
    records: int
    stored: int
    seconds: float
    # When ingest had offered every record: the rest is scoring catching up.
    ingested_after: float
    # When ingest's first batch was stored, and its events: what came before is the services'
    # start (imports, connections, the consumer group's first join).
    first_stored_after: float
    first_stored: int
    # The CPU seconds each side used while records flowed (first batch stored -> all scored).
    flowing_cpu: Counter[str]
    # Of each table scoring and ingest write: (rows written, inserted or updated; rows it holds).
    written: dict[str, tuple[int, int]]

    @property
    def events_per_second(self) -> float:
        return self.stored / self.seconds

    @property
    def flowing_events_per_second(self) -> float:
        """From ingest's first batch stored to the last event scored: the pipeline's rate once
        records flow, without its start."""
        return (self.stored - self.first_stored) / (self.seconds - self.first_stored_after)

    def flowing_cpu_summary(self) -> str:
        """Where the CPU went while records flowed, and the share of the machine's cores that
        is: near 100 %, the cores are the limit, and only less work per event goes faster."""
        wall = self.seconds - self.first_stored_after
        used = sum(self.flowing_cpu.values())
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.flowing_cpu.items())
        return (
            f"CPU while records flowed ({wall:.1f} s): {parts}; {used:.1f} s in all, "
            f"{used / (waits.CORES * wall) * 100:.0f} % of {waits.CORES} cores"
        )

    def written_summary(self) -> str:
        """How often each row was written: a dossier whose events fall in several of scoring's
        steps is read, evaluated and written at each (a replay in one batch writes it once)."""
        parts = ", ".join(
            f"{table} {writes:,} for {rows:,} rows ({writes / max(rows, 1):.2f} each, "
            f"{writes / max(self.stored, 1):.2f} an event)"
            for table, (writes, rows) in self.written.items()
        )
        return f"rows written: {parts}"


async def end_to_end(url: str, broker: str, group: Services, province: Province) -> EndToEnd:
    """Start ingest and scoring; time them until every record is offered and every event scored."""
    env = {"KAFKA_BOOTSTRAP_SERVERS": broker}
    started = time.perf_counter()
    services = [group.start("ingest", **env), group.start("scoring", **env)]
    first, flowing = await progress.wait_until(
        url, lambda p: p.stored > 0, within=900, check=group.check, poll=0.01
    )
    cpu_at_first = await cpu_by_side(url, services)
    _, ingested = await progress.wait_until(
        url, lambda p: p.offered >= province.records, within=900, check=group.check
    )
    done, seen = await progress.wait_until(
        url, lambda p: p.stored > 0 and p.applied >= p.stored, within=900, check=group.check
    )
    flowing_cpu = await cpu_by_side(url, services) - cpu_at_first
    seconds = seen - started
    written = await rows_written(url)
    say(
        f"end to end: {done.offered} offered, {done.stored} stored and scored in {seconds:.1f} s"
        f" (ingest had offered every record at {ingested - started:.1f} s)"
    )
    return EndToEnd(
        province.records,
        done.stored,
        seconds,
        ingested - started,
        flowing - started,
        first.stored,
        flowing_cpu,
        written,
    )


_WRITTEN = """
SELECT relname, n_tup_ins + n_tup_upd, n_live_tup FROM pg_stat_user_tables
WHERE relname = ANY($1::text[]) ORDER BY relname
"""
# A backend reports its table counters at most once a second while busy, and an idle one within
# ten seconds (PostgreSQL's PGSTAT_IDLE_INTERVAL): read sooner, the last steps may be missing.
_STATS_REPORTED = 11.0


async def rows_written(url: str) -> dict[str, tuple[int, int]]:
    """The rows each table of the flow had written, in this (new) database, and holds."""
    await asyncio.sleep(_STATS_REPORTED)
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(_WRITTEN, ["events", "dossiers", "indicator_counts"])
    finally:
        await connection.close()
    return {table: (writes, live) for table, writes, live in rows}


# Each service's connections, by the name it gives them (`shared.db.create_engine`).
_BACKENDS = """
SELECT pid, application_name FROM pg_stat_activity
WHERE datname = current_database() AND application_name = ANY($1::text[])
"""


async def cpu_by_side(url: str, services: list[Service]) -> Counter[str]:
    """The CPU seconds so far of each service process and of its PostgreSQL backends."""
    cpu: Counter[str] = Counter()
    for service in services:
        cpu[service.name] += waits.cpu_seconds(service.process.pid) or 0.0
    names = {f"chiso766-{service.name}": service.name for service in services}
    connection = await asyncpg.connect(url)
    try:
        for pid, application in await connection.fetch(_BACKENDS, list(names)):
            cpu[f"{names[application]}'s PostgreSQL"] += waits.cpu_seconds(pid) or 0.0
    finally:
        await connection.close()
    return cpu


class LiveStream:
    """The simulator going on live, as `make run`'s does: each second, `speed` seconds of the
    province's arrivals, and whatever of its dossiers' events has come due. Pausable."""

    def __init__(self, kafka: AIOKafkaProducer, province: Province, speed: float) -> None:
        self.kafka = kafka
        self.province = province
        self.speed = speed
        self.sent = 0
        self.running = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        simulator = self.province.simulator
        last = self.province.until
        while True:
            await asyncio.sleep(1)
            now = datetime.now(UTC)
            if not self.running.is_set():
                last = now  # no arrivals while paused: none to catch up on when resumed
                continue
            simulator.receive(last, last + (now - last) * self.speed)
            ready = simulator.due(now)
            await send(self.kafka, TOPICS, simulator, ready)
            self.sent += len(ready)
            last = now

    def start(self) -> None:
        self.running.set()
        self._task = asyncio.create_task(self._run())

    def pause(self) -> None:
        self.running.clear()

    def resume(self) -> None:
        self.running.set()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
