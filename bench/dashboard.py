"""The dashboard in Chromium: what each page weighs, when it first paints, and whether the wall's
memory grows over a long run of fast refreshes.

    python -m bench.dashboard --api http://127.0.0.1:8000 [--minutes 60] [--refresh 1]

Against a running api with data (`make run`). Figures are absolute, unlike `make bench`'s: the
page weight is bytes, whatever the machine; first paint on loopback is mostly the browser's own
work; the heap's trend (bytes per minute after a garbage collection at each sample) is what
matters, not its level.

- weight: a fresh context per page (nothing cached), the bytes transferred for the document and
  every resource it loaded (Resource Timing's transferSize, headers included), once the page
  shows its numbers;
- paint: first-contentful-paint, and the instant the numbers are on screen, from the page's own
  Performance API;
- the wall: `#/wall` at 1920×1080 refreshing every `--refresh` s and rotating every 2 s; every
  `--sample` s the heap is collected (CDP HeapProfiler.collectGarbage) and read with DOM node and
  listener counts (CDP Performance.getMetrics).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
PAGES = {
    "province": "/#/?period=month",
    "rankings (communes)": "/#/rankings?level=commune&period=month",
    "unit": "/#/unit/{unit}?period=month",
    "list (2.1 denominator)": (
        "/#/list?src=/units/{unit}/indicators/2.1/dossiers%3Fperiod%3Dmonth&part=denominator"
    ),
    "wall": "/#/wall?period=month",
    "docs (Swagger UI)": "/docs",
}
SHOWN = {"/docs": ".opblock"}
TRANSFERRED = """() => {
  const entries = [
    ...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource"),
  ];
  return entries.reduce((sum, entry) => sum + entry.transferSize, 0);
}"""
PAINT = """() => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null"""


@dataclass(frozen=True)
class Weighed:
    page: str
    bytes: int
    requests: int
    first_paint_ms: float | None
    shown_ms: float


def weigh(browser: Browser, api: str, name: str, address: str) -> Weighed:
    context = browser.new_context(base_url=api, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(address)
    shown = SHOWN.get(address, "main .card")
    page.wait_for_selector(shown)
    page.wait_for_function("() => !document.querySelector('main .loading')")
    shown_ms = page.evaluate("performance.now()")
    page.wait_for_load_state("networkidle")
    weighed = Weighed(
        name, page.evaluate(TRANSFERRED), len(requests), page.evaluate(PAINT), shown_ms
    )
    context.close()
    return weighed


@dataclass(frozen=True)
class Sample:
    minute: float
    heap: float
    nodes: float
    listeners: float


def sample(page: Page) -> Sample:
    cdp = page.context.new_cdp_session(page)
    cdp.send("HeapProfiler.collectGarbage")
    cdp.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    cdp.detach()
    return Sample(0.0, metrics["JSHeapUsedSize"], metrics["Nodes"], metrics["JSEventListeners"])


def wall(browser: Browser, api: str, minutes: float, refresh: float, every: float) -> list[Sample]:
    context = browser.new_context(base_url=api, viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.goto(f"/?refresh={refresh}#/wall?rotate=2&period=month")
    page.wait_for_selector('[data-slide="0"] [data-field="total"]')
    start = time.monotonic()
    samples: list[Sample] = []
    while True:
        elapsed = time.monotonic() - start
        taken = sample(page)
        samples.append(Sample(elapsed / 60, taken.heap, taken.nodes, taken.listeners))
        print(
            f"  {elapsed / 60:6.1f} min  heap {taken.heap / 1e6:7.2f} MB  "
            f"nodes {taken.nodes:6.0f}  listeners {taken.listeners:5.0f}",
            flush=True,
        )
        if elapsed >= minutes * 60:
            break
        page.wait_for_timeout(every * 1000)
    context.close()
    return samples


def slope(samples: list[Sample], value: str) -> float:
    """Least-squares growth per minute."""
    if len(samples) < 2:
        return 0.0
    fit = statistics.linear_regression(
        [s.minute for s in samples], [getattr(s, value) for s in samples]
    )
    return fit.slope


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="bench.dashboard",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument(
        "--unit", default=None, help="the unit page's code (default: the first department)"
    )
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--refresh", type=float, default=1, help="the wall's refresh, seconds")
    parser.add_argument("--sample", type=float, default=30, help="seconds between heap samples")
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args(argv)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=args.chromium, args=["--enable-precise-memory-info"]
        )
        unit = args.unit or _first_department(browser, args.api)
        print(f"page weight and paint ({args.api}, unit {unit}):")
        for name, address in PAGES.items():
            # The median of a few loads: a shared machine's noise is in the times, not the bytes.
            rounds = [weigh(browser, args.api, name, address.format(unit=unit)) for _ in range(3)]
            paints = [r.first_paint_ms for r in rounds if r.first_paint_ms is not None]
            paint = f"{statistics.median(paints):.0f} ms" if paints else "—"
            shown = statistics.median(r.shown_ms for r in rounds)
            print(
                f"  {name:24} {rounds[0].bytes / 1024:8.1f} KiB in {rounds[0].requests:3} requests"
                f"  first paint {paint:>7}  numbers shown {shown:.0f} ms (medians of 3)"
            )
        print(f"the wall, {args.minutes:g} min refreshing every {args.refresh:g} s:")
        samples = wall(browser, args.api, args.minutes, args.refresh, args.sample)
        browser.close()
    first, last = samples[0], samples[-1]
    peak = max(s.heap for s in samples)
    print(
        f"heap {first.heap / 1e6:.2f} → {last.heap / 1e6:.2f} MB (max {peak / 1e6:.2f}), "
        f"trend {slope(samples, 'heap') / 1e3:+.1f} kB/min; "
        f"nodes {first.nodes:.0f} → {last.nodes:.0f}, trend {slope(samples, 'nodes'):+.2f}/min; "
        f"listeners {first.listeners:.0f} → {last.listeners:.0f}"
    )


def _first_department(browser: Browser, api: str) -> str:
    context = browser.new_context(base_url=api)
    body = context.request.get("/rankings?level=department&period=month").json()
    context.close()
    code: str = body["items"][0]["unit"]["code"]
    return code


if __name__ == "__main__":
    main()
