"""Scoring replay: stored events scored by real `python -m services.scoring` processes.

The simulated events are bulk-loaded into a template database once; each run gets its own copy
of it, starts its scoring instances at the same moment, and is timed from their start until the
positions (summed: scoring may keep one row per partition) cover every stored event.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from bench import progress
from bench.processes import services
from bench.report import say
from bench.stack import database_name, scratch_database
from bench.store import History, load

SCORING_ENV = {
    "SCORING_BATCH_SIZE": "50000",
    "OPS_PORT": "0",
    "LOG_LEVEL": "WARNING",
    "LOG_JSON": "true",
}


@dataclass(frozen=True, slots=True)
class Replay:
    history: History
    instances: int
    events: int
    seconds: float
    problems: tuple[str, ...]

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds


def run(url: str, history: History, instances: int, logs: Path, timeout: float) -> Replay:
    """Score every event stored in `url` with `instances` processes at once."""
    logs.mkdir(parents=True, exist_ok=True)
    with services(logs, {"DATABASE_URL": url, **SCORING_ENV}) as group:
        started = time.perf_counter()
        for _ in range(instances):
            group.start("scoring")
        done, seen = asyncio.run(
            progress.wait_until(
                url,
                lambda p: p.stored > 0 and p.applied >= p.stored,
                within=timeout,
                check=group.check,
            )
        )
        group.stop_all()
    seconds = seen - started
    say(
        f"replay of {history.label()}, {instances} instance(s): {done.stored} events "
        f"in {seconds:.1f} s"
    )
    return Replay(history, instances, done.stored, seconds, tuple(group.problems))


def replays(
    history: History, instance_counts: tuple[int, ...], logs: Path, timeout: float
) -> list[Replay]:
    """One run per count of instances, each on its own copy of the same stored events."""
    results = []
    with scratch_database("replay_template") as template:
        seconds = asyncio.run(load(template, history))
        say(f"{history.events} events of {history.label()} stored by COPY in {seconds:.1f} s")
        for instances in instance_counts:
            with scratch_database(f"replay{instances}", template=database_name(template)) as url:
                results.append(run(url, history, instances, logs / f"x{instances}", timeout))
    return results
