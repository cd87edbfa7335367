"""Drill-downs: single requests, one after another (median of N), of the reads behind a number:
a range of days, and the audit lists, their first page and their last."""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, replace
from datetime import timedelta

import asyncpg
import httpx

from bench.reads import PROVINCE, DayRange
from bench.report import say

PAGE_SIZE = 50
# The commune with the most overdue dossiers: its list has pages to go deep into.
_COMMUNE = """
SELECT u.unit_code FROM units u LEFT JOIN dossiers d
  ON d.unit_code = u.unit_code AND d.outcome IN ('OVERDUE', 'IN_PROGRESS_OVERDUE')
WHERE u.level = 'COMMUNE' GROUP BY u.unit_code ORDER BY count(d.*) DESC, u.unit_code LIMIT 1
"""


@dataclass(frozen=True, slots=True)
class Timing:
    name: str
    path: str
    seconds: list[float]
    status: int
    # Audit lists: the total the page is part of.
    total: int | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def audit(self) -> bool:
        return self.total is not None


async def commune(db_url: str) -> str:
    connection = await asyncpg.connect(db_url)
    try:
        code: str | None = await connection.fetchval(_COMMUNE)
    finally:
        await connection.close()
    if code is None:
        raise RuntimeError("no commune in the catalogue")
    return code


# A slow path is sampled fewer times, no fewer than MIN_SAMPLES: the run must end.
BUDGET_SECONDS = 15
MIN_SAMPLES = 5


def enough(seconds: list[float], samples: int) -> bool:
    return len(seconds) >= samples or (
        len(seconds) >= MIN_SAMPLES and sum(seconds) > BUDGET_SECONDS
    )


async def _time(client: httpx.AsyncClient, path: str, samples: int) -> tuple[list[float], int]:
    (await client.get(path)).raise_for_status()  # warm: connection, caches, plans
    seconds: list[float] = []
    status = 0
    while not enough(seconds, samples):
        started = time.perf_counter()
        response = await client.get(path)
        seconds.append(time.perf_counter() - started)
        status = response.status_code
    return seconds, status


async def measure(base_url: str, db_url: str, day_range: DayRange, samples: int) -> list[Timing]:
    code = await commune(db_url)
    lists = {
        "2.1 dossiers": f"/units/{PROVINCE}/indicators/2.1/dossiers?period=month&part=denominator",
        f"overdue of {code}": f"/units/{code}/overdue",
        "3.2 catalogue": f"/units/{PROVINCE}/indicators/3.2/catalogue?period=month",
        "5.2 feedback": f"/units/{PROVINCE}/indicators/5.2/feedback?period=month",
    }
    timings = []
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        name, path = "/livez", "/livez"
        seconds, status = await _time(client, path, samples)
        timings.append(Timing(name, path, seconds, status))
        # The api caches a range's scores until scoring's counts move: each of these ranges is
        # asked once, so computed (the same dossiers in each: they start earlier, not later).
        computed: list[float] = []
        status = 0
        while not enough(computed, samples):
            days = len(computed)
            shifted = replace(day_range, first=day_range.first - timedelta(days=days))
            started = time.perf_counter()
            response = await client.get(f"/units/{PROVINCE}?period={shifted.param}")
            computed.append(time.perf_counter() - started)
            status = response.status_code
        name = f"/units/19 range {day_range.param}, computed ({len(computed)} distinct starts)"
        timings.append(
            Timing(name, f"/units/{PROVINCE}?period={day_range.param}", computed, status)
        )
        path = f"/units/{PROVINCE}?period={day_range.param}"
        seconds, status = await _time(client, path, samples)
        timings.append(
            Timing(f"/units/19 range {day_range.param}, repeated", path, seconds, status)
        )
        for name, path in lists.items():
            first = await client.get(path, params={"page_size": PAGE_SIZE})
            first.raise_for_status()
            total = int(first.json()["total"])
            last = max(1, math.ceil(total / PAGE_SIZE))
            for page in sorted({1, last}):
                paged = f"{path}{'&' if '?' in path else '?'}page={page}&page_size={PAGE_SIZE}"
                seconds, status = await _time(client, paged, samples)
                where = "first page" if page == 1 else f"page {page} of {last}"
                timings.append(Timing(f"{name}, {where}", paged, seconds, status, total))
    for timing in timings:
        say(f"drill-down {timing.name}: median {timing.median * 1000:.1f} ms ({timing.status})")
    return timings
