"""`make bench`: every figure beside an anchor measured in the same run, in one table.

    python -m bench [--weeks 3] [--history-weeks 12] [--scale 1] [--skip history,alerts]
    python -m bench --only replay [--profile DIR]

These machines are shared and noisy, so no figure stands alone: throughputs are shares of the
physical anchor (COPY + upsert rows/s of dossier-shaped rows on the same PostgreSQL, `anchor.py`),
read rates shares of `/livez` served by the same api under the same load, latencies multiples of
a `/livez` round trip beside them. The machine is described at the top.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import anchor as anchors
from bench import api as api_process
from bench import bench_alerts, drilldown, freshness, reads, replay, store, wrk
from bench.machine import describe
from bench.pipeline import SERVICE_ENV, LiveStream, end_to_end, produce_province, producer
from bench.processes import ROOT, Services, services
from bench.report import Report, Row, median, ms, percent, quantile, rate, say, times
from bench.stack import ADMIN_URL, fresh_stack, require_postgres, scratch_database
from services.devstack.stack import tansu_broker
from shared.logging import configure_logging

PHASES = ("replay", "history", "pipeline", "alerts")


class Bench:
    def __init__(self, args: argparse.Namespace, logs: Path) -> None:
        self.args = args
        self.logs = logs
        self.report = Report()
        self.anchor: anchors.Anchor | None = None
        self.replay_one: replay.Replay | None = None
        self.failed: list[str] = []
        self.durations: dict[str, float] = {}

    @property
    def anchor_rate(self) -> float:
        return self.anchor.rows_per_second if self.anchor else 0.0

    def of_anchor(self, value: float) -> str:
        return percent(value, self.anchor_rate, "anchor")

    def measure_anchor(self) -> anchors.Anchor:
        with scratch_database("anchor", migrated=False) as url:
            return asyncio.run(anchors.measure(url, self.args.anchor_rows, self.args.anchor_rounds))

    def anchor_rows(self) -> None:
        found = self.anchor = self.measure_anchor()
        n = f"{found.rows:,}"
        section = "anchor"
        add = self.report.add
        add(
            Row(
                f"anchor: insert {n} fresh rows (COPY + upsert)",
                rate(found.insert_rows_per_second, "rows/s"),
                section=section,
            )
        )
        add(
            Row(
                f"anchor: update the same {n} rows",
                rate(found.update_rows_per_second, "rows/s"),
                section=section,
            )
        )
        add(
            Row(
                "THE anchor: mean of the two",
                rate(found.rows_per_second, "rows/s"),
                "anchor (= 100 %)",
                section=section,
            )
        )

    def replay_rows(self) -> None:
        args = self.args
        history = store.simulate(args.weeks, args.scale)
        say(f"{history.events} dossier events simulated in {history.seconds_to_simulate:.1f} s")
        one, two = replay.replays(history, (1, 2), self.logs / "replay", args.timeout, args.profile)
        self.replay_one = one
        self._problems("replay", [*one.problems, *two.problems])
        for run in (one, two):
            self.report.note(
                f"replay, {run.instances} instance(s): {run.waits.summary(run.seconds)}"
            )
        section = "replay"
        add = self.report.add
        label = f"{history.label()}, {history.events:,} events"
        add(
            Row(
                f"scoring replay, 1 instance ({label})",
                rate(one.events_per_second),
                self.of_anchor(one.events_per_second),
                ">= 40 % of anchor",
                one.events_per_second >= 0.4 * self.anchor_rate,
                section,
            )
        )
        add(
            Row(
                "scoring replay, 2 instances at once",
                rate(two.events_per_second),
                self.of_anchor(two.events_per_second),
                section=section,
            )
        )
        speedup = two.events_per_second / one.events_per_second
        # The alternative where the machine is the limit: every core busy (or wanted)
        # and the instances not waiting on each other's locks.
        demand = two.waits.cores_demanded(two.seconds)
        locks = two.waits.lock_share
        add(
            Row(
                "  2 instances vs 1",
                f"{speedup:.2f}x",
                times(two.events_per_second, one.events_per_second, "one instance"),
                ">= 1.5x, or cores full",
                speedup >= 1.5 or (demand >= 0.95 and locks <= 0.05),
                section,
            )
        )
        add(
            Row(
                "  2 instances: the cores used or waited for",
                f"{demand * 100:.0f} %",
                f"lock waits {locks * 100:.1f} %",
                ">= 95 %, locks <= 5 %",
                demand >= 0.95 and locks <= 0.05,
                section,
            )
        )

    def history_rows(self) -> None:
        args = self.args
        short = self.replay_one
        if short is None or (short.history.weeks, short.history.scale) != (3, args.history_scale):
            history = store.simulate(3, args.history_scale)
            (short,) = replay.replays(
                history, (1,), self.logs / "history-3w", args.timeout, args.profile
            )
        history = store.simulate(args.history_weeks, args.history_scale)
        say(f"{history.events} dossier events simulated in {history.seconds_to_simulate:.1f} s")
        (long,) = replay.replays(history, (1,), self.logs / "history", args.timeout, args.profile)
        self._problems("history", [*long.problems])
        section = "history"
        add = self.report.add
        for run in (short, long):
            add(
                Row(
                    f"replay of {run.history.label()} ({run.events:,} events, 1 instance)",
                    rate(run.events_per_second),
                    self.of_anchor(run.events_per_second),
                    section=section,
                )
            )
        cost = short.events_per_second / long.events_per_second
        add(
            Row(
                f"  per-event cost, {long.history.label()} vs {short.history.label()}",
                f"{cost:.2f}x",
                f"{cost:.2f}x the {short.history.weeks:g} weeks'",
                "<= 1.20x (within 20 %)",
                cost <= 1.2,
                section,
            )
        )

    def pipeline_rows(self) -> None:
        with (
            scratch_database("e2e") as url,
            tansu_broker() as broker,
            services(self.logs / "pipeline", {"DATABASE_URL": url, **SERVICE_ENV}) as group,
        ):
            try:
                asyncio.run(self._pipeline(url, broker, group))
            finally:
                group.stop_all()
                self._problems("pipeline", group.problems)

    async def _pipeline(self, url: str, broker: str, group: Services) -> None:
        args = self.args
        add = self.report.add
        kafka = producer(broker)
        await kafka.start()
        try:
            province = await produce_province(kafka, broker, args.weeks, args.scale)
            e2e = await end_to_end(url, broker, group, province)
            add(
                Row(
                    f"end to end, Kafka -> ingest -> scoring ({e2e.records:,} records)",
                    rate(e2e.events_per_second),
                    self.of_anchor(e2e.events_per_second),
                    ">= 25 % of anchor",
                    e2e.events_per_second >= 0.25 * self.anchor_rate,
                    "e2e",
                )
            )
            add(
                Row(
                    "  the same once records flow (first batch stored -> all scored)",
                    rate(e2e.flowing_events_per_second),
                    self.of_anchor(e2e.flowing_events_per_second),
                    section="e2e",
                )
            )
            self.report.note(
                f"end to end: {e2e.seconds:.1f} s from the services' start, ingest's first batch "
                f"stored at {e2e.first_stored_after:.1f} s (the start: imports, connections, the "
                f"consumer group's first join), ingest done at {e2e.ingested_after:.1f} s; the "
                f"records were produced beforehand in {province.produced_in:.1f} s"
            )
            self.report.note(f"end to end: {e2e.flowing_cpu_summary()}")
            self.report.note(f"end to end: {e2e.written_summary()}")
            api = await api_process.start(group, broker)
            self.report.note(
                f"api: {api.workers} worker process(es)"
                + ("" if api.workers > 1 else " (API_WORKERS is not a setting of this api yet)")
            )
            live = LiveStream(kafka, province, args.live_speed)
            live.start()
            day_range = reads.month_range()
            self.report.note(f"month range {day_range.param}: {day_range.why}")
            try:
                if wrk.available():
                    livez = await self._reads(api.base_url, url, live)
                    await self._paced(api.base_url, live)
                    await self._freshness(api.base_url, url, broker)
                    await self._drilldowns(api.base_url, url, day_range)
                    # Last: it can leave the api busy (see reads.measure_range).
                    await self._range_load(api.base_url, url, live, day_range, livez)
                else:
                    self.report.note(
                        "no wrk on this machine (make bench-setup installs it): "
                        "reads and freshness skipped"
                    )
                    await self._drilldowns(api.base_url, url, day_range)
            finally:
                await live.stop()
                self.report.note(
                    f"the simulator streamed {live.sent} live events meanwhile "
                    f"(speed {args.live_speed:g}x)"
                )
        finally:
            await kafka.stop()

    def _load(self, seconds: float | None = None) -> wrk.Load:
        args = self.args
        return wrk.Load(args.wrk_threads, args.wrk_connections, seconds or args.wrk_seconds)

    async def _reads(self, base_url: str, db_url: str, live: LiveStream) -> float:
        """The read figures; `/livez`'s rate, their anchor."""
        load = self._load()
        figures = await reads.measure(base_url, db_url, live, load)
        self.report.note(
            f"reads: wrk -t{load.threads} -c{load.connections} -d{load.seconds:g}s --latency"
        )
        livez = figures[0].result.requests_per_second
        for figure in figures:
            self._read_row(figure, livez)
        return livez

    def _read_row(self, figure: reads.ReadFigure, livez: float) -> None:
        result = figure.result
        value = (
            f"{result.requests_per_second:,.0f} req/s, p50 {ms(result.p50)}, p99 {ms(result.p99)}"
        )
        share = result.status_share(figure.expected)
        if share is not None:
            value += f", {share * 100:.1f} % {figure.expected}"
        if result.non_2xx_3xx or result.socket_errors:
            value += f" [{result.non_2xx_3xx} non-2xx/3xx"
            value += f"; socket errors {result.socket_errors or 0}]"
        section = "reads"
        if figure.path == "/livez":
            row = Row(
                "GET /livez (framework ceiling)", value, "read anchor (= 100 %)", section=section
            )
            self.report.add(row)
            return
        ranged = "range" in figure.name
        floor = 0.8 if figure.expected == "304" else None if ranged else 0.5
        ratio = result.requests_per_second / livez
        # A 304 run that got 200s measured something else: it misses whatever its rate.
        met = (ratio >= floor and (share is None or share >= 0.95)) if floor else None
        kind = f"{figure.expected}, cached after the first" if ranged else figure.expected
        self.report.add(
            Row(
                f"GET {figure.path} ({kind})",
                value,
                percent(result.requests_per_second, livez, "/livez"),
                f">= {floor * 100:.0f} % of /livez" if floor else "",
                met,
                section,
            )
        )

    async def _range_load(
        self,
        base_url: str,
        db_url: str,
        live: LiveStream,
        day_range: reads.DayRange,
        livez: float,
    ) -> None:
        found = await reads.measure_range(base_url, db_url, live, self._load(), day_range)
        self._read_row(found.figure, livez)
        if found.recovered_after is None:
            after = f"still not answering /livez promptly {reads.RECOVERY_WAIT_SECONDS} s after it"
        else:
            after = f"answering /livez promptly again {found.recovered_after:.1f} s after it"
        self.report.note(f"range load: the api was {after}")

    async def _paced(self, base_url: str, live: LiveStream) -> None:
        """p99 at a fixed rate (wrk paced by its `delay()`), the issue's "at 2,000 req/s"."""
        rate = self.args.paced_rate
        for figure in await reads.measure_paced(base_url, live, self._load().paced(rate)):
            result = figure.result
            self.report.add(
                Row(
                    f"GET {figure.path} (200) paced at {rate:,.0f} req/s",
                    f"{result.requests_per_second:,.0f} req/s, p50 {ms(result.p50)}, "
                    f"p99 {ms(result.p99)}",
                    f"{result.requests_per_second / rate * 100:.0f} % of the pace",
                    "p99 <= 10 ms",
                    result.p99 <= 0.010,
                    "reads",
                )
            )

    async def _freshness(self, base_url: str, db_url: str, broker: str) -> None:
        args = self.args
        seconds = args.freshness_samples * 1.0 + 5
        # At the paced rate: a saturating load measures how the machine's two cores are shared
        # between wrk, the api and scoring, not how fresh the numbers are.
        found = await freshness.measure(
            base_url,
            db_url,
            broker,
            args.freshness_samples,
            self._load(seconds).paced(args.paced_rate),
        )
        if not found.latencies:
            self.report.note("freshness: no sample taken")
            return
        livez = median(found.livez)
        section = "freshness"
        add = self.report.add
        p50, p99 = median(found.latencies), quantile(found.latencies, 0.99)
        load = (
            f"{len(found.latencies)} events, "
            f"/rankings at {found.load.requests_per_second:,.0f} req/s"
        )
        if found.load.non_2xx_3xx:
            self.report.note(
                f"freshness: {found.load.non_2xx_3xx} of the {found.load.requests:,} /rankings "
                "requests of its load were answered outside 2xx/3xx"
            )
        add(
            Row(
                f"freshness under /rankings load, p50 ({load})",
                ms(p50),
                times(p50, livez, f"a /livez trip under load ({ms(livez)})"),
                section=section,
            )
        )
        add(
            Row(
                "freshness under /rankings load, p99",
                ms(p99),
                times(p99, livez, "a /livez trip"),
                "<= 250 ms",
                p99 <= 0.25,
                section,
            )
        )
        self.report.note(f"freshness: {freshness.stages_summary(found.stages)}")

    async def _drilldowns(self, base_url: str, db_url: str, day_range: reads.DayRange) -> None:
        timings = await drilldown.measure(base_url, db_url, day_range, self.args.drill_samples)
        livez = timings[0].median
        section = "drill-downs"
        add = self.report.add
        for timing in timings:
            value = ms(timing.median) + (
                "" if timing.status == 200 else f" (status {timing.status})"
            )
            if timing.total is not None:
                value += f", {timing.total:,} in the list"
            if timing.path == "/livez":
                add(
                    Row(
                        f"single GET /livez (median of {len(timing.seconds)} in a row)",
                        value,
                        "drill-down anchor (= 1x)",
                        section=section,
                    )
                )
                continue
            # The month range's target is for its computation; repeated, the api caches it.
            limit = 0.05 if timing.audit else 0.3 if "computed" in timing.name else None
            add(
                Row(
                    f"single GET {timing.name}",
                    value,
                    times(timing.median, livez, "/livez"),
                    f"<= {limit * 1000:.0f} ms" if limit else "",
                    (timing.status == 200 and timing.median <= limit) if limit else None,
                    section,
                )
            )

    def alerts_rows(self) -> None:
        # bench_alerts runs the services in this process: their logs, as theirs would be.
        configure_logging("WARNING", json=True, service="bench")
        with fresh_stack("alerts") as (url, broker):
            results = asyncio.run(bench_alerts.measure(url, broker, self.args.alert_samples))
        for label, latencies in results.items():
            p50, worst = median(latencies), max(latencies)
            value = f"median {ms(p50)}, p95 {ms(quantile(latencies, 0.95))}, max {ms(worst)}"
            self.report.add(
                Row(
                    f"alert latency, {label} ({len(latencies)})",
                    value,
                    "n/a: own stack, no load",
                    section="alerts",
                )
            )

    def _problems(self, phase: str, problems: list[str]) -> None:
        for problem in problems:
            self.report.note(f"{phase}: {problem}")

    def attempt(self, phase: str, run: Callable[[], None]) -> None:
        started = time.perf_counter()
        say(f"--- {phase}")
        try:
            run()
        except Exception as error:  # one phase failing leaves the others to measure
            traceback.print_exc()
            self.failed.append(phase)
            self.report.note(f"{phase} FAILED: {type(error).__name__}: {str(error)[:300]}")
        self.durations[phase] = time.perf_counter() - started
        say(f"--- {phase} took {self.durations[phase]:.0f} s")


def code_version() -> str:
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return described.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--weeks", type=float, default=3, help="history replayed and sent end to end"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="the province's volume (1 = real)")
    parser.add_argument("--history-weeks", type=float, default=12)
    parser.add_argument(
        "--history-scale", type=float, default=1.0, help="volume of the 3-vs-12-weeks comparison"
    )
    parser.add_argument("--anchor-rows", type=int, default=50_000)
    parser.add_argument("--anchor-rounds", type=int, default=3)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--wrk-connections", type=int, default=32)
    parser.add_argument("--wrk-seconds", type=float, default=15)
    parser.add_argument(
        "--live-speed", type=float, default=20, help="the live stream's pace, as make run's"
    )
    parser.add_argument("--freshness-samples", type=int, default=30)
    parser.add_argument(
        "--paced-rate", type=float, default=2000, help="req/s of the paced reads and freshness load"
    )
    parser.add_argument("--drill-samples", type=int, default=20)
    parser.add_argument("--alert-samples", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=900, help="seconds a replay may take")
    parser.add_argument("--skip", default="", help=f"phases to leave out, of {','.join(PHASES)}")
    parser.add_argument(
        "--only",
        default="",
        help=f"the phases to run (and the anchor), of {','.join(PHASES)}",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="record the replays' scoring processes with py-spy (speedscope files in this folder)",
    )
    args = parser.parse_args(argv)
    for option in ("skip", "only"):
        unknown = _phases(getattr(args, option)) - set(PHASES)
        if unknown:
            parser.error(f"--{option}: no phase {', '.join(sorted(unknown))}")
    return args


def _phases(listed: str) -> set[str]:
    return {p.strip() for p in listed.split(",") if p.strip()}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    require_postgres()
    logs = Path(tempfile.mkdtemp(prefix="chiso766-bench-"))
    bench = Bench(args, logs)
    machine = asyncio.run(describe(ADMIN_URL))
    skip = _phases(args.skip)
    if args.only:
        skip |= set(PHASES) - _phases(args.only)
    bench.attempt("anchor", bench.anchor_rows)
    phases = {
        "replay": bench.replay_rows,
        "history": bench.history_rows,
        "pipeline": bench.pipeline_rows,
        "alerts": bench.alerts_rows,
    }
    for phase, run in phases.items():
        if phase in skip:
            bench.report.note(f"{phase}: skipped (--skip)")
        else:
            bench.attempt(phase, run)
    if bench.anchor:
        start = bench.anchor
        end = bench.measure_anchor()
        bench.report.add(
            Row(
                "anchor re-measured at the end",
                rate(end.rows_per_second, "rows/s"),
                percent(end.rows_per_second, start.rows_per_second, "the start's"),
                section="anchor-end",
            )
        )
    for value, name in ((args.scale, "--scale"), (args.history_scale, "--history-scale")):
        if value != 1:
            bench.report.note(f"{name} {value:g}: the province's volume scaled down for time")
    took = time.perf_counter() - began
    bench.report.header = [
        "Chỉ số 766: make bench",
        *machine.lines(),
        f"code        {ROOT} ({code_version()})",
        f"took        {took / 60:.1f} min ("
        + ", ".join(f"{phase} {seconds:.0f} s" for phase, seconds in bench.durations.items())
        + f"); service logs in {logs}",
    ]
    print(bench.report.render(), flush=True)
    return 1 if bench.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
