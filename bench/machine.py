"""What the figures were measured on: these machines are shared and noisy, so every run says."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg


@dataclass(frozen=True, slots=True)
class Machine:
    cores: int
    cpu_model: str
    memory_gib: float
    load_average: tuple[float, float, float]
    postgres_version: str
    python_version: str
    started_at: datetime

    def lines(self) -> list[str]:
        load = ", ".join(f"{value:.2f}" for value in self.load_average)
        return [
            f"date        {self.started_at.isoformat(timespec='seconds')}",
            f"cpu         {self.cores} cores, {self.cpu_model}",
            f"memory      {self.memory_gib:.1f} GiB, load average at start {load}",
            f"postgresql  {self.postgres_version}",
            f"python      {self.python_version}",
        ]


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The first `model name` of /proc/cpuinfo (or what the platform says, elsewhere)."""
    try:
        for line in cpuinfo.read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib(meminfo: Path = Path("/proc/meminfo")) -> float:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


async def postgres_version(admin_url: str) -> str:
    connection = await asyncpg.connect(admin_url)
    try:
        version: str = await connection.fetchval("SHOW server_version")
        return version
    finally:
        await connection.close()


async def describe(admin_url: str) -> Machine:
    return Machine(
        cores=os.cpu_count() or 1,
        cpu_model=cpu_model(),
        memory_gib=memory_gib(),
        load_average=os.getloadavg(),
        postgres_version=await postgres_version(admin_url),
        python_version=platform.python_version(),
        started_at=datetime.now(UTC).astimezone(),
    )
