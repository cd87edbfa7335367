"""Drill-downs: single requests, one after another (median of N), of the reads behind a number:
a range of days, and the audit lists, their first page and their last (reached by following
each page's `next` link, then timed alone).

Alone, without the rest of `make bench` (the province built through Kafka, ingest and scoring,
then the api; no live stream, so the counts stay put while measured):

    python -m bench.drilldown [--weeks 3] [--samples 20] [--keep | --database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx

from bench import api as api_process
from bench.pipeline import SERVICE_ENV, end_to_end, produce_province, producer
from bench.processes import Services, services
from bench.reads import PROVINCE, DayRange, month_range
from bench.report import say
from bench.stack import ADMIN_URL, require_postgres, scratch_database
from services.devstack.stack import tansu_broker
from tests.support.infra import database_url, execute_admin, migrate

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


async def last_page(client: httpx.AsyncClient, first: str) -> tuple[str, int]:
    """The path of a list's last page, and how many pages it has: `next` links followed."""
    path, pages = first, 1
    while True:
        response = await client.get(path)
        response.raise_for_status()
        following = response.json().get("next")
        if following is None:
            return path, pages
        path, pages = following, pages + 1


async def measure(base_url: str, db_url: str, day_range: DayRange, samples: int) -> list[Timing]:
    code = await commune(db_url)
    size = f"page_size={PAGE_SIZE}"
    # A closed period: the month before the range's last day.
    last_month = f"{day_range.last.replace(day=1) - timedelta(days=1):%Y-%m}"
    twenty_weeks = replace(day_range, first=day_range.last - timedelta(weeks=20, days=-1)).param
    lists = {
        "2.1 dossiers": f"/units/{PROVINCE}/indicators/2.1/dossiers?period=month&{size}",
        "2.1 dossiers, last month": (
            f"/units/{PROVINCE}/indicators/2.1/dossiers?period={last_month}&{size}"
        ),
        "2.1 shortfall, last month": (
            f"/units/{PROVINCE}/indicators/2.1/dossiers?period={last_month}&part=shortfall&{size}"
        ),
        "5.4 shortfall, 20 weeks": (
            f"/units/{PROVINCE}/indicators/5.4/dossiers?period={twenty_weeks}&part=shortfall&{size}"
        ),
        f"overdue of {code}": f"/units/{code}/overdue?{size}",
        "3.2 catalogue": f"/units/{PROVINCE}/indicators/3.2/catalogue?period=month&{size}",
        "5.2 feedback": f"/units/{PROVINCE}/indicators/5.2/feedback?period=month&{size}",
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
        for name, first in lists.items():
            response = await client.get(first)
            response.raise_for_status()
            total = int(response.json()["total"])
            last, pages = await last_page(client, first)
            for where, paged in (("first page", first), (f"page {pages} of {pages}", last)):
                if where != "first page" and pages == 1:
                    continue
                seconds, status = await _time(client, paged, samples)
                timings.append(Timing(f"{name}, {where}", paged, seconds, status, total))
    for timing in timings:
        say(f"drill-down {timing.name}: median {timing.median * 1000:.1f} ms ({timing.status})")
    return timings


def _build(url: str, broker: str, group: Services, weeks: float, scale: float) -> None:
    """The simulated province through Kafka, ingest and scoring, into `url`, as `make bench`'s
    pipeline phase builds it (without its timings)."""

    async def build() -> None:
        kafka = producer(broker)
        await kafka.start()
        try:
            province = await produce_province(kafka, broker, weeks, scale)
            await end_to_end(url, broker, group, province)
        finally:
            await kafka.stop()

    asyncio.run(build())


def _table(timings: list[Timing]) -> str:
    livez = timings[0].median
    lines = ["| read | median | samples | x /livez | in the list |", "|---|---|---|---|---|"]
    for timing in timings:
        total = "" if timing.total is None else f"{timing.total:,}"
        lines.append(
            f"| {timing.name} | {timing.median * 1000:.1f} ms | {len(timing.seconds)} "
            f"| {timing.median / livez:.0f}x | {total} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """The drill-down figures alone: a province built (or a kept one reused), then the api."""
    parser = argparse.ArgumentParser(prog="bench.drilldown", description=__doc__)
    parser.add_argument("--weeks", type=float, default=3, help="history sent end to end")
    parser.add_argument("--scale", type=float, default=1.0, help="the province's volume")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument(
        "--database",
        help="a database a previous run kept (--keep): measured again, nothing built",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the database built, for --database"
    )
    args = parser.parse_args(argv)
    require_postgres()
    logs = Path(tempfile.mkdtemp(prefix="chiso766-drilldown-"))
    day_range = month_range()
    with contextlib.ExitStack() as stack:
        if args.database:
            url = args.database
        elif args.keep:
            name = f"chiso766_drilldown_{uuid.uuid4().hex[:8]}"
            asyncio.run(execute_admin(ADMIN_URL, f'CREATE DATABASE "{name}"'))
            url = database_url(ADMIN_URL, name)
            migrate(url)
        else:
            url = stack.enter_context(scratch_database("drilldown"))
        broker = stack.enter_context(tansu_broker())
        group = stack.enter_context(services(logs, {"DATABASE_URL": url, **SERVICE_ENV}))
        if not args.database:
            _build(url, broker, group, args.weeks, args.scale)
            say(f"built in {url}" + (" (kept)" if args.keep else ""))

        async def measured() -> list[Timing]:
            api = await api_process.start(group, broker)
            try:
                return await measure(api.base_url, url, day_range, args.samples)
            finally:
                group.stop(api.service)

        timings = asyncio.run(measured())
        group.stop_all()
    print(f"month range {day_range.param} ({day_range.why}); logs in {logs}")
    print(_table(timings))
    for problem in group.problems:
        print(f"problem: {problem}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
