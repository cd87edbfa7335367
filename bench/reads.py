"""Reads under load: the real api measured with wrk, each path against `/livez` beside it.

`/livez` answers without touching the database: the framework's own ceiling on this machine, the
anchor of the read figures. The 304 runs send the ETag the api just gave; the live stream is
paused for them, so that the ETag mostly stays the one held (the events would move it), and wrk
counts the statuses to show it did. The counts still move with time alone (in office hours,
dossiers fall overdue at their due times), and each wrk thread then takes up the new ETag from
the 200 it gets, as a polling screen does.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from bench import progress, wrk
from bench.pipeline import LiveStream
from bench.report import say

PROVINCE = "19"
RANKINGS = "/rankings?level=commune&period=week"
UNIT_MONTH = f"/units/{PROVINCE}?period=month"
# A month-to-date range shorter than this is not a month range: the 30 days to today instead.
SHORTEST_MONTH_RANGE_DAYS = 7


@dataclass(frozen=True, slots=True)
class DayRange:
    first: date
    last: date
    why: str

    @property
    def param(self) -> str:
        return f"{self.first.isoformat()}..{self.last.isoformat()}"


def month_range(timezone: str = "Asia/Ho_Chi_Minh", today: date | None = None) -> DayRange:
    """From the first day of the month to today, local time; if the month has only begun, the
    last 30 days (so that the range reads a month of dossiers, as a monthly report does)."""
    today = today or datetime.now(ZoneInfo(timezone)).date()
    first = today.replace(day=1)
    if (today - first).days + 1 >= SHORTEST_MONTH_RANGE_DAYS:
        return DayRange(first, today, "the month to date")
    return DayRange(
        today - timedelta(days=29),
        today,
        f"the last 30 days (the month to date is {(today - first).days + 1} day(s))",
    )


@dataclass(frozen=True, slots=True)
class ReadFigure:
    name: str
    path: str
    result: wrk.WrkResult
    # 200 or 304: what every response should be.
    expected: str


async def etag(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    response.raise_for_status()
    return response.headers["etag"]


async def warm(client: httpx.AsyncClient, path: str, times: int = 3) -> None:
    for _ in range(times):
        (await client.get(path, timeout=120)).raise_for_status()


async def caught_up(db_url: str, quiet: float = 1.0) -> None:
    """Until scoring has applied every stored event and nothing new arrived for `quiet` s."""
    last = None
    while True:
        done, _ = await progress.wait_until(
            db_url, lambda p: p.applied >= p.stored, within=120, poll=0.1
        )
        if done == last:
            return
        last = done
        await asyncio.sleep(quiet)


async def _run(
    client: httpx.AsyncClient,
    load: wrk.Load,
    name: str,
    path: str,
    expected: str = "200",
    tag: str | None = None,
) -> ReadFigure:
    await warm(client, path)
    headers = {"If-None-Match": tag} if tag else None
    result = await wrk.run(f"{client.base_url}{path}", load, headers, tag is not None)
    say(
        f"wrk {name}: {result.requests_per_second:,.0f} req/s, "
        f"p50 {result.p50 * 1000:.1f} ms, p99 {result.p99 * 1000:.1f} ms"
    )
    return ReadFigure(name, path, result, expected)


async def measure(base_url: str, db_url: str, live: LiveStream, load: wrk.Load) -> list[ReadFigure]:
    """`/livez`, then the named periods' 200s with the live stream on, and their 304s."""
    figures = []
    async with httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=120) as client:
        live.resume()
        figures.append(await _run(client, load, "/livez", "/livez"))
        figures.append(await _run(client, load, "/rankings 200", RANKINGS))
        figures.append(await _run(client, load, "/units/19 month 200", UNIT_MONTH))
        live.pause()
        await caught_up(db_url)
        tag = await etag(client, RANKINGS)
        figures.append(await _run(client, load, "/rankings 304", RANKINGS, "304", tag))
        tag = await etag(client, UNIT_MONTH)
        figures.append(await _run(client, load, "/units/19 month 304", UNIT_MONTH, "304", tag))
        live.resume()
    return figures


async def measure_paced(base_url: str, live: LiveStream, load: wrk.Load) -> list[ReadFigure]:
    """The named periods' 200s at the load's fixed rate, the live stream on: the latency a
    portal sees at that traffic, rather than the saturated machine's."""
    async with httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=120) as client:
        live.resume()
        return [
            await _run(client, load, "/rankings 200 paced", RANKINGS),
            await _run(client, load, "/units/19 month 200 paced", UNIT_MONTH),
        ]


@dataclass(frozen=True, slots=True)
class RangeLoad:
    figure: ReadFigure
    # How long after the load the api took to answer `/livez` promptly again (None: not yet).
    recovered_after: float | None


async def measure_range(
    base_url: str, db_url: str, live: LiveStream, load: wrk.Load, day_range: DayRange
) -> RangeLoad:
    """A range of days under load, last of the api's figures: the api caches a range's scores
    until scoring's counts move, and a miss under load is computed by every request waiting
    for it, which can leave the api busy long after the load. The stream is paused (the counts
    stay put), and the time the api takes to answer again is measured."""
    path = f"/units/{PROVINCE}?period={day_range.param}"
    async with httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=120) as client:
        live.pause()
        await caught_up(db_url)
        figure = await _run(client, load, "/units/19 range", path)
        live.resume()
        ended = time.perf_counter()
        recovered = await _recovered(client, RECOVERY_WAIT_SECONDS)
    return RangeLoad(figure, recovered - ended if recovered else None)


RECOVERY_WAIT_SECONDS = 60
PROMPT_SECONDS = 0.05


async def _recovered(client: httpx.AsyncClient, within: float) -> float | None:
    """The instant `/livez` answered within PROMPT_SECONDS, or None if not within `within` s."""
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            await client.get("/livez", timeout=max(0.1, deadline - started))
        except httpx.TimeoutException:
            continue
        if time.perf_counter() - started <= PROMPT_SECONDS:
            return time.perf_counter()
        await asyncio.sleep(0.1)
    return None
