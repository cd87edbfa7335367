"""Every service killed with SIGKILL at random points of a stream, again and again: the end state
is the one a run with no fault reaches, and the api never answers 5xx."""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from typing import Any

import httpx
import orjson

from tests.faults.scenario import (
    assert_exact,
    create_topics,
    province_stream,
    query,
    send_paced,
    settled,
)
from tests.services.alerting.test_alerts import consume_all
from tests.support import harness
from tests.support.cluster import Cluster

# `make soak` raises these; `make test` keeps the run short.
CYCLES = int(os.environ.get("FAULT_KILL_CYCLES", "12"))
SEED = int(os.environ.get("FAULT_SEED", "766"))
SERVICES = ("ingest", "scoring", "alerting", "api")


async def test_kill9_of_every_service_at_random_points_loses_and_doubles_nothing(
    db_url: str, broker: str, topics: Any, cluster: Cluster
) -> None:
    stream = province_stream(topics, seed=SEED, scale=0.1, malformed_rate=0.01, duplicate_rate=0.02)
    alerts_topic = cluster.env["TOPIC_ALERTS"]
    await create_topics(broker, topics, alerts_topic)
    for name in SERVICES:
        cluster.start(name)
    rng = random.Random(SEED)
    statuses: Counter[int] = Counter()
    streaming = asyncio.Event()

    async def chaos() -> None:
        cycle = 0
        while cycle < CYCLES or streaming.is_set():
            await asyncio.sleep(rng.uniform(0.2, 2.0))
            victim = rng.choice(SERVICES)
            cluster.kill(victim)
            await asyncio.sleep(rng.uniform(0, 1.0))
            cluster.start(victim)
            assert cluster.exited() == {}, "a service crashed by itself"
            cycle += 1

    async def poll_api() -> None:
        url = f"http://127.0.0.1:{cluster.env['API_PORT']}/rankings"
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                try:
                    response = await client.get(url, params={"period": "week"})
                    statuses[response.status_code] += 1
                except httpx.TransportError:
                    statuses[0] += 1  # the api is down between a kill and its restart
                await asyncio.sleep(0.2)

    streaming.set()
    killing = asyncio.create_task(chaos())
    polling = asyncio.create_task(poll_api())
    try:
        positions = await send_paced(broker, stream, seconds=CYCLES * 1.2)
        streaming.clear()
        await killing
        await settled(db_url, stream)
    finally:
        polling.cancel()
        killing.cancel()
    outcome = await assert_exact(db_url, broker, stream, positions, topics.dead_letter)
    assert cluster.exited() == {}
    assert not [status for status in statuses if status >= 500], statuses

    # Every alert recorded, whatever the kills, is on the alerts topic exactly once.
    async def relayed() -> int | None:
        rows = await query(
            db_url,
            "SELECT (SELECT count(*) FROM alerts) AS recorded,"
            " (SELECT coalesce(max(last_seq), 0) FROM alert_relay) AS relayed,"
            " (SELECT coalesce(max(seq), 0) FROM alerts) AS last",
        )
        row = rows[0]
        return int(row["recorded"]) if row["relayed"] == row["last"] else None

    recorded = await harness.eventually(relayed, within=60) if outcome.events else 0
    published = Counter(
        orjson.loads(r.value)["seq"] for r in await consume_all(broker, alerts_topic, recorded)
    )
    assert len(published) == recorded
    assert set(published.values()) <= {1}

    kills = sum(cluster.kills.values())
    print(
        f"\nkill -9 cycles survived: {kills} {dict(cluster.kills)}; records {outcome.records}, "
        f"events stored {outcome.events}, dead letters {outcome.dead_letters} "
        f"(repeated on the topic: {outcome.dlq_topic_repeats}), alerts {recorded}, "
        f"api answers {dict(statuses)}, verify differences {outcome.count_differences}"
    )
    assert kills >= CYCLES
