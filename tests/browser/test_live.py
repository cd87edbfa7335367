"""The dashboard stays live: an event produced to Kafka reaches the screen without a reload, and
the wall refreshes with conditional requests, pauses while hidden and says when it is stale."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from playwright.sync_api import Browser, Response, Route, expect

from tests.browser.conftest import NOW, Pipeline, Watched, checked, settles
from tests.browser.numbers import vn
from tests.support.factories import received

WALL = {"width": 1920, "height": 1080}


def ontime(pipeline: Pipeline, unit: str) -> dict[str, Any]:
    detail = pipeline.get(f"/units/{unit}", period="month")
    indicator: dict[str, Any] = next(i for i in detail["indicators"] if i["id"] == "2.1")
    return indicator


def test_an_event_produced_to_kafka_changes_the_number_on_screen_without_a_reload(
    dashboard: Watched, pipeline: Pipeline
) -> None:
    page = dashboard.page
    statuses: list[int] = []
    page.on(
        "response",
        lambda response: (
            statuses.append(response.status) if "/units/SO-NV?" in response.url else None
        ),
    )
    page.goto("/?refresh=0.5#/unit/SO-NV?period=month")
    before = ontime(pipeline, "SO-NV")["denominator"]
    cell = page.locator('tr[data-indicator="2.1"] [data-col="denominator"]')
    expect(cell).to_have_text(vn(before))
    page.evaluate("window.sameDocument = true")
    # Polls that find nothing new are answered 304 (and draw nothing).
    settles(page, lambda: statuses.count(304) > 0)

    pipeline.produce(
        pipeline.topics.dossier, [received("NV-2", NOW - timedelta(hours=1), unit_code="SO-NV")]
    )

    expect(cell).to_have_text(vn(before + 1), timeout=30_000)
    assert ontime(pipeline, "SO-NV")["denominator"] == before + 1
    assert page.evaluate("window.sameDocument") is True
    dashboard.shot("unit-SO-NV-after-event")


def test_the_wall_rotates_refreshes_conditionally_and_shows_when_it_is_stale(
    pipeline: Pipeline, browser: Browser
) -> None:
    with checked(browser, pipeline.api, viewport=WALL) as wall:
        page = wall.page
        answers: list[Response] = []
        page.on("response", lambda response: answers.append(response))
        page.goto("/?refresh=0.5#/wall?rotate=2&period=month")
        expect(page.locator('[data-slide="0"] [data-field="total"]')).to_be_visible()
        expect(page.locator("#updated")).to_have_text(re.compile(r"cập nhật \d\d:\d\d"))
        wall.shot("wall-province")

        # Rotation: the department ranking, then the communes', then the alerts.
        for slide, name in ((1, "wall-departments"), (2, "wall-communes"), (3, "wall-alerts")):
            expect(page.locator(f'[data-slide="{slide}"]')).to_be_visible()
            wall.shot(name)

        # A 304 draws nothing: the table drawn before the next refreshes is still the one shown.
        page.evaluate("document.querySelector('[data-slide=\"1\"] table').dataset.mark = 'kept'")
        seen = len(answers)
        settles(
            page, lambda: sum(a.status == 304 and "/rankings" in a.url for a in answers[seen:]) >= 4
        )
        expect(page.locator('[data-slide="1"] table[data-mark="kept"]')).to_have_count(1)

        # The api unreachable: a banner says so, and goes once it answers again.
        page.route(re.compile(r".*/(rankings|units/).*"), lambda route: route.abort())
        expect(page.locator("#stale")).to_be_visible()
        expect(page.locator("#stale")).to_contain_text("Mất kết nối")
        wall.shot("wall-stale")
        page.unroute(re.compile(r".*/(rankings|units/).*"))
        expect(page.locator("#stale")).to_be_hidden()
        # Those refusals were ours: the browser logs each aborted request.
        wall.errors[:] = [e for e in wall.errors if "net::ERR_FAILED" not in e]

        # Hidden, it asks for nothing; shown again, it refreshes at once.
        page.evaluate(
            """() => {
              Object.defineProperty(document, "hidden", { value: true, configurable: true });
              document.dispatchEvent(new Event("visibilitychange"));
            }"""
        )
        page.wait_for_timeout(1000)  # any refresh in flight lands
        quiet = len(answers)
        page.wait_for_timeout(2000)
        asked = [a.url for a in answers[quiet:] if "/rankings" in a.url or "/units/" in a.url]
        assert asked == []
        with page.expect_response(lambda response: "/rankings" in response.url):
            page.evaluate(
                """() => {
                  Object.defineProperty(document, "hidden", { value: false, configurable: true });
                  document.dispatchEvent(new Event("visibilitychange"));
                }"""
            )


def test_alerts_arrive_live_and_a_refused_stream_resumes_after_the_last_alert(
    dashboard: Watched, pipeline: Pipeline
) -> None:
    page = dashboard.page
    streams: list[str] = []
    page.on(
        "request",
        lambda request: streams.append(request.url) if "/alerts/stream" in request.url else None,
    )
    refused: list[str] = []

    def refuse_the_first(route: Route) -> None:
        if refused:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.fulfill(status=503, body="unavailable")

    page.route("**/alerts/stream*", refuse_the_first)
    newest = pipeline.get("/alerts", limit=1)["items"][0]["seq"]
    page.goto("/#/alerts")
    expect(page.locator(f'.alert-list li[data-seq="{newest}"]')).to_be_visible()
    # Refused, the stream is opened again after the newest alert the page holds.
    settles(page, lambda: len(streams) >= 2)
    assert streams[:2] == [f"{pipeline.api}/alerts/stream?after={newest}"] * 2
    expect(page.locator("#live")).to_have_attribute("data-state", "open")
    dashboard.errors[:] = [e for e in dashboard.errors if "503" not in e]

    pipeline.produce(
        pipeline.topics.dossier,
        [
            received(
                "TP-9", NOW - timedelta(hours=2), unit_code="SO-TP", due_in=timedelta(minutes=1)
            )
        ],
    )
    expect(page.locator(".alert-list li").first).to_contain_text("TP-9", timeout=30_000)
    dashboard.shot("alerts")


# Every fetch made slower than the refresh interval, and counted while in flight.
SLOW_FETCH = """
const original = window.fetch;
window.inFlight = {};
window.mostInFlight = 0;
window.fetched = 0;
window.fetch = async (input, init) => {
  const key = String(input);
  window.inFlight[key] = (window.inFlight[key] ?? 0) + 1;
  window.mostInFlight = Math.max(window.mostInFlight, window.inFlight[key]);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    return await original(input, init);
  } finally {
    window.inFlight[key] -= 1;
    window.fetched += 1;
  }
};
"""


def test_refreshes_slower_than_their_interval_never_overlap(
    dashboard: Watched, pipeline: Pipeline
) -> None:
    page = dashboard.page
    page.add_init_script(SLOW_FETCH)
    page.goto("/?refresh=0.2#/unit/SO-TP?period=month")
    expect(page.locator("table.indicators")).to_be_visible()
    settles(page, lambda: page.evaluate("window.fetched") >= 8)
    assert page.evaluate("window.mostInFlight") == 1
