"""Two ingest instances in one consumer group and two scoring instances, with rebalances in the
middle of the stream (a third ingest joins, one leaves, one is killed): nothing is lost or
counted twice. Scoring is not a Kafka consumer (it tails the event store); its two instances
take turns on the position row."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from tests.faults.scenario import (
    Stream,
    assert_exact,
    create_topics,
    province_stream,
    send_paced,
    settled,
)
from tests.support.cluster import Cluster


def assignments(cluster: Cluster, name: str) -> list[list[str]]:
    """The partitions an ingest instance was given, one list per rebalance, from its logs."""
    lines = (cluster.logs / f"{name}.log").read_text(errors="replace").splitlines()
    found = []
    for line in lines:
        if '"ingest.assigned"' in line:
            found.append(orjson.loads(line)["partitions"])
    return found


async def test_rebalances_between_ingest_instances_lose_and_double_nothing(
    db_url: str, broker: str, topics: Any, cluster: Cluster
) -> None:
    stream = province_stream(topics, seed=13, scale=0.08, malformed_rate=0.01, duplicate_rate=0.02)
    third = len(stream.records) // 3
    await create_topics(broker, topics, cluster.env["TOPIC_ALERTS"])
    for name in ("ingest-1", "ingest-2", "scoring-1", "scoring-2"):
        cluster.start(name)
    positions = await send_paced(broker, Stream(stream.records[:third]), seconds=4)
    cluster.start("ingest-3")  # joins: the group rebalances
    positions += await send_paced(broker, Stream(stream.records[third : 2 * third]), seconds=4)
    assert cluster.stop("ingest-1") == 0  # leaves cleanly: rebalance
    cluster.kill("scoring-1")
    positions += await send_paced(broker, Stream(stream.records[2 * third :]), seconds=2)
    cluster.kill("ingest-2")  # dies: the group waits out its session, then rebalances
    await asyncio.sleep(1)

    await settled(db_url, stream)
    outcome = await assert_exact(db_url, broker, stream, positions, topics.dead_letter)
    assert cluster.exited() == {}
    given = {name: assignments(cluster, name) for name in ("ingest-1", "ingest-2", "ingest-3")}
    # Each instance held partitions at some point, and the last one standing took them all.
    assert all(any(rounds) for rounds in given.values()), given
    assert len(given["ingest-3"][-1]) == 9, given  # 3 topics x 3 partitions
    rebalances = sum(len(rounds) for rounds in given.values())
    print(
        f"\n{rebalances} partition assignments over 3 ingest and 2 scoring instances: "
        f"{outcome.records} records, {outcome.events} events stored once, "
        f"{outcome.dead_letters} dead letters, verify differences {outcome.count_differences}"
    )
