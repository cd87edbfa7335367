"""Replay throughput of scoring: simulated events stored, then scored from the event store.

    python -m bench.bench_scoring --weeks 3

Prints events/s for the pure core (no database) and for the service (PostgreSQL included).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson

from services.devstack.stack import LOCAL_POSTGRES, reachable
from services.scoring.main import build_service
from services.scoring.settings import ScoringSettings
from services.simulator.main import Simulator
from shared.clock import SystemClock
from shared.db import create_engine, create_sessionmaker
from shared.events import (
    Refusal,
    normalized_payload,
    parse_record,
)
from shared.models import Event
from tests.support.infra import database_url, execute_admin, migrate


def simulated_payloads(weeks: float, scale: float) -> list[dict]:
    simulator = Simulator(seed=766, scale=scale, malformed_rate=0)
    now = datetime.now(UTC)
    simulator.receive(now - timedelta(weeks=weeks), now)
    payloads = []
    for emission in simulator.due(now):
        if emission.topic != "dossier":
            continue  # the replay measures dossier events, the bulk of the stream
        parsed = parse_record(orjson.dumps(emission.event))
        assert not isinstance(parsed, Refusal), parsed
        payloads.append(normalized_payload(parsed))
    return payloads


async def store(url: str, payloads: list[dict]) -> None:
    engine = create_engine(url, application_name="bench")
    sessions = create_sessionmaker(engine)
    rows = [
        {
            "event_id": p["event_id"],
            "kind": "dossier_status" if "status" in p else "rating",
            "subject": p["dossier_code"],
            "occurred_at": datetime.fromisoformat(p["occurred_at"]),
            "payload": p,
            "payload_hash": b"\0" * 32,
            "source_topic": "bench",
            "source_partition": 0,
            "source_offset": i,
        }
        for i, p in enumerate(payloads)
    ]
    async with sessions.begin() as session:
        for start in range(0, len(rows), 5000):
            await session.execute(Event.__table__.insert(), rows[start : start + 5000])
    await engine.dispose()


async def score_all(url: str, batch_size: int) -> tuple[int, float]:
    settings = ScoringSettings(database_url=url, scoring_batch_size=batch_size)
    service = build_service(settings, SystemClock())
    engine = create_engine(url, application_name="bench")
    sessions = create_sessionmaker(engine)
    events = 0
    started = time.perf_counter()
    while True:
        async with sessions.begin() as session:
            report = await service.step(session)
        if report.events == 0:
            break
        events += report.events
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return events, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weeks", type=float, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()
    payloads = simulated_payloads(args.weeks, args.scale)
    print(f"{len(payloads)} simulated events ({args.weeks} weeks of a ~100-unit province)")

    from services.scoring.main import build_scorer

    scorer = build_scorer(ScoringSettings(database_url="unused"))
    started = time.perf_counter()
    for start in range(0, len(payloads), args.batch_size):
        scorer.step({}, payloads[start : start + args.batch_size], [], datetime.now(UTC))
    core = time.perf_counter() - started
    print(f"scoring core, no database: {len(payloads) / core:,.0f} events/s")

    admin = LOCAL_POSTGRES
    if not reachable(admin):
        raise SystemExit("bench needs PostgreSQL on 127.0.0.1:5432 (or edit LOCAL_POSTGRES)")
    name = f"chiso766_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(execute_admin(admin, f'CREATE DATABASE "{name}"'))
    try:
        url = database_url(admin, name)
        migrate(url)
        asyncio.run(store(url, payloads))
        events, elapsed = asyncio.run(score_all(url, args.batch_size))
        print(
            f"scoring service replay from the event store: {events / elapsed:,.0f} events/s "
            f"({events} events in {elapsed:.1f} s, batch {args.batch_size})"
        )
    finally:
        asyncio.run(execute_admin(admin, f'DROP DATABASE "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
