"""Where a replay's time goes, seen from PostgreSQL and from the kernel.

Sampled from `pg_stat_activity` while scoring runs, each of scoring's database connections is
either running a statement (on the CPU, or waiting: on a lock another transaction holds, which
is one instance waiting on another; on I/O, the WAL flush of a commit included; on an internal
lock), idle in a transaction (PostgreSQL waiting for scoring's Python), or idle between steps.
Beside that, the CPU seconds the scoring processes and their backends used, from `/proc`
(PostgreSQL runs on this machine: the bench requires it), and the seconds each was runnable but
waiting for a core (`/proc/<pid>/schedstat`): on two cores shared with other work, that wait is
what the machine's cores being the limit looks like, and the split of the CPU says whose.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import asyncpg

from shared.db import driver_url

# The step's connections (the claims connection only holds locks).
SCORING_APPLICATION = "chiso766-scoring"
_ACTIVITY = """
SELECT pid, state, wait_event_type, wait_event FROM pg_stat_activity
WHERE datname = current_database() AND application_name = $1
"""
_TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
# The states a backend is sampled in, in the order they are printed.
STATES = (
    "running",
    "waiting on a lock",
    "I/O (WAL included)",
    "internal lock",
    "other wait",
    "idle in transaction",
    "idle",
)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process `pid` so far; None once it has gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS


def runqueue_seconds(pid: int) -> float | None:
    """Seconds process `pid` (its main thread) was runnable but waited for a CPU; None once
    it has gone. Where it is large, the cores are the limit (other processes had them)."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def state_of(state: str | None, wait_type: str | None) -> str:
    if state == "active":
        if wait_type is None:
            return "running"
        return {
            "Lock": "waiting on a lock",
            "IO": "I/O (WAL included)",
            "LWLock": "internal lock",
        }.get(wait_type, "other wait")
    if state is not None and state.startswith("idle in transaction"):
        return "idle in transaction"
    return "idle"


@dataclass
class Waits:
    """Samples of the scoring connections' states, and the CPU both sides used."""

    samples: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    backend_cpu: dict[int, float] = field(default_factory=dict)
    backend_queued: dict[int, float] = field(default_factory=dict)
    scoring_cpu: float = 0.0
    scoring_queued: float = 0.0
    rounds: int = 0

    def add(self, rows: Iterable[asyncpg.Record]) -> None:
        self.rounds += 1
        for pid, state, wait_type, wait_event in rows:
            kind = state_of(state, wait_type)
            self.samples[kind] += 1
            if kind not in ("running", "idle", "idle in transaction"):
                self.events[f"{wait_type}:{wait_event}"] += 1
            if pid not in self.backend_cpu or self.rounds % 10 == 0:
                self.read_backend(pid)

    def read_backend(self, pid: int) -> None:
        seconds, queued = cpu_seconds(pid), runqueue_seconds(pid)
        if seconds is not None:
            self.backend_cpu[pid] = seconds
        if queued is not None:
            self.backend_queued[pid] = queued

    @property
    def postgres_cpu(self) -> float:
        return sum(self.backend_cpu.values())

    def cores_demanded(self, wall: float) -> float:
        """The share of the machine's core-seconds over `wall` that the scorers and their
        backends used or were runnable and waiting for: at 100 % the cores are the limit."""
        used = self.scoring_cpu + self.postgres_cpu
        queued = self.scoring_queued + sum(self.backend_queued.values())
        return (used + queued) / (CORES * wall)

    @property
    def lock_share(self) -> float:
        """The share of samples in which a scoring connection waited on another's lock."""
        return self.samples["waiting on a lock"] / (sum(self.samples.values()) or 1)

    def summary(self, wall: float) -> str:
        total = sum(self.samples.values()) or 1
        shares = ", ".join(
            f"{state} {self.samples[state] / total * 100:.0f} %"
            for state in STATES
            if self.samples[state]
        )
        waits = ", ".join(
            f"{name} {count / total * 100:.1f} %" for name, count in self.events.most_common(4)
        )
        queued = sum(self.backend_queued.values())
        return (
            f"CPU over {wall:.1f} s: scoring {self.scoring_cpu:.1f} s, its PostgreSQL backends "
            f"{self.postgres_cpu:.1f} s (of {CORES * wall:.1f} core-seconds on {CORES} cores); "
            f"runnable but waiting for a core: scoring {self.scoring_queued:.1f} s, backends "
            f"{queued:.1f} s; "
            f"the backends sampled {self.rounds} times: {shares}"
            + (f" (waits: {waits})" if waits else "")
        )


async def watch(url: str, stop: asyncio.Event, every: float = 0.02) -> Waits:
    """Sample the scoring connections of database `url` until `stop` is set."""
    waits = Waits()
    connection = await asyncpg.connect(driver_url(url))
    try:
        while not stop.is_set():
            waits.add(await connection.fetch(_ACTIVITY, SCORING_APPLICATION))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
        for pid in list(waits.backend_cpu):
            waits.read_backend(pid)
    finally:
        await connection.close()
    return waits
