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

from bench import progress, pyspy, waits
from bench.processes import Service, Services, services
from bench.report import say
from bench.stack import database_name, scratch_database
from bench.store import History, load

# Scoring as it ships (its default batch size included).
SCORING_ENV = {
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
    # What the scoring connections did meanwhile, and the CPU both sides used.
    waits: waits.Waits

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds


def run(
    url: str,
    history: History,
    instances: int,
    logs: Path,
    timeout: float,
    profile: Path | None = None,
) -> Replay:
    """Score every event stored in `url` with `instances` processes at once (each recorded by
    py-spy into `profile` if given)."""
    logs.mkdir(parents=True, exist_ok=True)
    profilers = []
    with services(logs, {"DATABASE_URL": url, **SCORING_ENV}) as group:
        started = time.perf_counter()
        scorers = []
        for index in range(instances):
            scorers.append(service := group.start("scoring"))
            if profile is not None:
                name = f"{history.weeks:g}w-x{instances}-{index + 1}.speedscope.json"
                profilers.append(pyspy.record(service.process.pid, profile / name))
        done, seen, watched = asyncio.run(_watched(url, group, scorers, timeout))
        group.stop_all()
    for profiler in profilers:
        profiler.wait(60)
    seconds = seen - started
    say(
        f"replay of {history.label()}, {instances} instance(s): {done.stored} events "
        f"in {seconds:.1f} s"
    )
    say(f"  {watched.summary(seconds)}")
    return Replay(history, instances, done.stored, seconds, tuple(group.problems), watched)


async def _watched(
    url: str, group: Services, scorers: list[Service], within: float
) -> tuple[progress.Progress, float, waits.Waits]:
    """Wait until every stored event is applied, sampling the scoring connections meanwhile;
    the CPU the scorers used, read before they stop."""
    stop = asyncio.Event()
    sampler = asyncio.create_task(waits.watch(url, stop))
    try:
        done, seen = await progress.wait_until(
            url, lambda p: p.stored > 0 and p.applied >= p.stored, within=within, check=group.check
        )
    finally:
        stop.set()
        watched = await sampler
    watched.scoring_cpu = sum(waits.cpu_seconds(s.process.pid) or 0.0 for s in scorers)
    watched.scoring_queued = sum(waits.runqueue_seconds(s.process.pid) or 0.0 for s in scorers)
    return done, seen, watched


def replays(
    history: History,
    instance_counts: tuple[int, ...],
    logs: Path,
    timeout: float,
    profile: Path | None = None,
) -> list[Replay]:
    """One run per count of instances, each on its own copy of the same stored events."""
    results = []
    with scratch_database("replay_template") as template:
        seconds = asyncio.run(load(template, history))
        say(f"{history.events} events of {history.label()} stored by COPY in {seconds:.1f} s")
        for instances in instance_counts:
            with scratch_database(f"replay{instances}", template=database_name(template)) as url:
                results.append(
                    run(url, history, instances, logs / f"x{instances}", timeout, profile)
                )
    return results
