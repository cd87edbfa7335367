"""The reports, the guidance and the daily trend against real services: the numbers on screen
and in the downloaded files are the api's.

The shared pipeline runs on the system clock and starts with no day closed (a day closes at
midnight in Vietnam), so its tests see the empty history. `history_api` gives the history
itself: ten past days scored by the scoring service on a clock moved across their midnights,
then the api as a process on that database, for the comparison and the trend with real days.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet
from playwright.sync_api import Browser, Page, expect

from shared.clock import ManualClock
from shared.periods import Calendar
from tests.browser.conftest import (
    ARTIFACTS,
    COMMUNES,
    DEPARTMENTS,
    NOW,
    Pipeline,
    Watched,
    _until,
    checked,
    in_thread,
)
from tests.browser.numbers import DASH, days, signed, vn
from tests.conftest import Topics, service_env
from tests.support.cluster import Cluster
from tests.support.factories import dossier_event, received, unit_event
from tests.support.infra import database_url, execute_admin
from tests.support.store import step_until_idle, store

PROVINCE = "19"
UNITS = {**DEPARTMENTS, **COMMUNES}
CALENDAR = Calendar()
HISTORY_DAYS = 10
HISTORY_UNITS = {"SO-A": "Sở A", "SO-B": "Sở B"}


def local(day: date, hours: float) -> datetime:
    midnight = datetime(day.year, day.month, day.day, tzinfo=CALENDAR.tz)
    return (midnight + timedelta(hours=hours)).astimezone(UTC)


def day_events(day: date, n: int) -> list[dict[str, Any]]:
    """SO-A late one day in three, SO-B always on time: totals that move from day to day."""
    late = n % 3 == 0
    return [
        received(f"A-{n}", local(day, 8), unit_code="SO-A", due_in=timedelta(hours=4)),
        dossier_event(f"A-{n}", "COMPLETED", local(day, 14 if late else 9), unit_code="SO-A"),
        received(f"B-{n}", local(day, 8), unit_code="SO-B", synced_to_national_portal=True),
        dossier_event(f"B-{n}", "COMPLETED", local(day, 9), unit_code="SO-B"),
    ]


@dataclass
class HistoryApi:
    api: str
    days: list[date]

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.api}{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="module")
def history_api(
    postgres_admin_url: str, template_database: str, broker: str, tmp_path_factory: Any
) -> Iterator[HistoryApi]:
    """The ten days before today, each closed by scoring at its midnight, and the api on them."""
    name = f"chiso766_history_{uuid.uuid4().hex[:10]}"
    url = database_url(postgres_admin_url, name)
    in_thread(
        execute_admin(
            postgres_admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'
        )
    )
    today = NOW.astimezone(CALENDAR.tz).date()
    days = [today - timedelta(days=HISTORY_DAYS - n) for n in range(HISTORY_DAYS)]
    clock = ManualClock(local(days[0], 7))
    units = [
        unit_event(code, unit, "DEPARTMENT", local(days[0], 0) - timedelta(days=30))
        for code, unit in HISTORY_UNITS.items()
    ]
    for n, day in enumerate(days):
        in_thread(store(url, (units if n == 0 else []) + day_events(day, n)))
        clock.set(local(day, 20))
        in_thread(step_until_idle(url, clock))
    # Past the last day's midnight: it closes too.
    clock.set(local(today, 0.5))
    in_thread(step_until_idle(url, clock))
    suffix = uuid.uuid4().hex[:10]
    topics = Topics(f"d.{suffix}", f"c.{suffix}", f"x.{suffix}", f"f.{suffix}")
    env = service_env(url, broker, topics)
    cluster = Cluster(env, tmp_path_factory.mktemp("history-api"))
    try:
        cluster.start("api")
        served = HistoryApi(f"http://127.0.0.1:{env['API_PORT']}", days)
        _until(lambda: _answers(served))
        yield served
    finally:
        cluster.stop_all()
        in_thread(execute_admin(postgres_admin_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


def _answers(api: HistoryApi) -> bool:
    try:
        return bool(api.get(f"/units/{PROVINCE}/history", period="month")["days"])
    except httpx.HTTPError:
        return False


def follow(pipeline: Pipeline, link: str) -> Any:
    """An api link as given (Pipeline.get's params would replace its query)."""
    response = httpx.get(f"{pipeline.api}{link}", timeout=10)
    response.raise_for_status()
    return response.json()


def rows_of(path: Path) -> list[tuple[Any, ...]]:
    worksheet = openpyxl.load_workbook(path).active
    assert isinstance(worksheet, Worksheet)
    return [tuple(row) for row in worksheet.iter_rows(values_only=True)]


def by_unit_code(rows: list[tuple[Any, ...]], column: int) -> dict[str, Any]:
    """The data rows of an export whose second column is the unit's code."""
    return {row[1]: row[column] for row in rows if len(row) > column and row[1] in UNITS}


def download(page: Page, link: str, name: str) -> Path:
    with page.expect_download() as started:
        page.locator(link).click()
    saved = ARTIFACTS / name
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    started.value.save_as(saved)
    return saved


def page_window(page: Page) -> dict[str, str]:
    """The dates the reports page chose, as it remembers them in its address."""
    expect(page.locator(".overdue-card h2")).to_be_visible()
    params = parse_qs(urlsplit(page.url).fragment.partition("?")[2])
    return {name: params[name][0] for name in ("from", "to", "period")}


def test_the_reports_page_shows_the_comparison_of_the_last_closed_day_or_says_none_closed(
    dashboard: Watched, pipeline: Pipeline
) -> None:
    days = pipeline.get(f"/units/{PROVINCE}/history", period="month")["days"]
    page = dashboard.page
    page.goto("/#/reports")
    window = page_window(page)
    if not days:
        expect(page.locator(".comparison-card")).to_contain_text("Chưa có ngày nào được chốt")
        expect(page.locator("table.comparison")).to_have_count(0)
    else:
        assert window["to"] == days[-1]["day"]
        body = pipeline.get("/reports/comparison", **window)
        province = body["units"][0]
        assert province["unit"]["code"] == PROVINCE
        expect(page.locator("table.comparison tbody tr")).to_have_count(len(province["rows"]))
        for row in province["rows"]:
            shown = page.locator(f'table.comparison tr[data-row="{row["code"]}"]').first
            expect(shown.locator('[data-col="to.points"]')).to_have_text(vn(row["to"]["points"]))
            expect(shown.locator('[data-col="change.points"]')).to_have_text(
                signed(row["change"]["points"])
            )
        xlsx = rows_of(download(page, '.comparison-card a[data-format="xlsx"]', "comparison.xlsx"))
        assert any(body["title"] in str(cell) for row in xlsx for cell in row if cell)
    dashboard.shot("reports")


def test_the_overdue_report_shows_the_apis_counts_and_its_xlsx_holds_them(
    dashboard: Watched, pipeline: Pipeline
) -> None:
    page = dashboard.page
    page.goto("/#/reports")
    window = page_window(page)
    report = pipeline.get("/reports/overdue", **{"from": window["from"], "to": window["to"]})
    shown = page.eval_on_selector_all(
        "table.overdue-report tbody tr",
        "rows => rows.map(r => [r.dataset.unit, r.querySelector('[data-col=overdue]').innerText])",
    )
    assert shown == [[item["unit"]["code"], vn(item["overdue"])] for item in report["items"]]
    expected = {item["unit"]["code"]: item["overdue"] for item in report["items"]}
    saved = download(page, '.overdue-card a[data-format="xlsx"]', "overdue-report.xlsx")
    assert by_unit_code(rows_of(saved), 3) == expected
    if report["items"]:
        # Each count links to exactly its dossiers.
        first = report["items"][0]
        listed = follow(pipeline, f"{first['dossiers']}&page_size=100")
        page.locator(f'tr[data-unit="{first["unit"]["code"]}"] a').click()
        expect(page.locator("table.dossiers tbody tr")).to_have_count(len(listed["items"]))
        codes = page.eval_on_selector_all(
            "table.dossiers tbody tr", "rows => rows.map(r => r.dataset.dossier)"
        )
        assert codes == [item["dossier_code"] for item in listed["items"]]
        dashboard.shot("reports-overdue-list")


def test_the_rankings_download_holds_the_apis_totals(
    dashboard: Watched, pipeline: Pipeline
) -> None:
    rankings = pipeline.get("/rankings", level="department", period="month")
    page = dashboard.page
    page.goto("/#/rankings?level=department&period=month")
    expect(page.locator("table.rankings tbody tr")).to_have_count(len(rankings["items"]))
    saved = download(page, '.controls a[data-format="xlsx"]', "rankings-department.xlsx")
    assert by_unit_code(rows_of(saved), 3) == {
        item["unit"]["code"]: item["total"] for item in rankings["items"]
    }
    with page.expect_download() as started:
        page.locator('.controls a[data-format="csv"]').click()
    text = Path(started.value.path()).read_text(encoding="utf-8-sig")
    assert all(code in text for code in DEPARTMENTS)


def test_a_units_guidance_shows_the_apis_fixes_and_gains(
    dashboard: Watched, pipeline: Pipeline
) -> None:
    guidance = pipeline.get("/units/SO-TP/guidance", period="month")
    fixes = [(i, fix) for i in guidance["indicators"] for fix in i["fixes"]]
    assert fixes, "SO-TP has an overdue dossier and dossiers not synced: there are fixes"
    page = dashboard.page
    page.goto("/#/unit/SO-TP?period=month")
    card = page.locator("section.guidance")
    expect(card.locator("li[data-fix]")).to_have_count(len(fixes))
    for indicator, fix in fixes:
        item = card.locator(f'li[data-indicator="{indicator["id"]}"] li[data-fix="{fix["kind"]}"]')
        expect(item.locator("[data-count]")).to_have_text(vn(fix["count"]))
        # A fix still possible says what it gains; a settled one what it cost.
        shown = signed if fix["can_change"] else vn
        expect(item.locator('[data-gain="unit"]')).to_have_text(
            f"{shown(fix['unit_gain'])} điểm đơn vị"
        )
        expect(item.locator('[data-gain="province"]')).to_have_text(
            f"{shown(fix['province_gain'])} điểm tỉnh"
        )
        if not fix["can_change"]:
            expect(item).to_contain_text("đã mất")
    forecast = guidance["forecast"]
    for name in ("on_time", "stalled"):
        expect(card.locator(f'[data-scenario="{name}"] strong')).to_have_text(
            vn(forecast[name]["unit_total"])
        )
    dashboard.shot("unit-SO-TP-guidance")

    # An audit list's shortfall, in the list view: exactly the api's items.
    audit = next(fix for _, fix in fixes if "/indicators/" in (fix["items"] or ""))
    listed = follow(pipeline, f"{audit['items']}&page_size=100")
    card.locator(f'li[data-fix="{audit["kind"]}"] a[data-count]').first.click()
    expect(page.locator("table.audit tbody tr")).to_have_count(len(listed["items"]))
    assert listed["part"] == "shortfall"
    expect(page.locator("main h1")).to_contain_text("còn thiếu")

    # The overdue fix's count: the unit's overdue dossiers, in the dossiers view.
    page.go_back()
    overdue = next(fix for _, fix in fixes if fix["kind"] == "overdue")
    dossiers = follow(pipeline, f"{overdue['items']}&page_size=100")["items"]
    card.locator('li[data-fix="overdue"] a[data-count]').click()
    expect(page.locator("table.dossiers tbody tr")).to_have_count(len(dossiers))
    codes = page.eval_on_selector_all(
        "table.dossiers tbody tr", "rows => rows.map(r => r.dataset.dossier)"
    )
    # (test_live adds dossiers to the shared pipeline: the api's list, not the scenario's.)
    assert codes == [item["dossier_code"] for item in dossiers]
    assert "TP-2" in codes


def test_the_trend_draws_a_point_per_closed_day(dashboard: Watched, pipeline: Pipeline) -> None:
    page = dashboard.page
    for code, address in ((PROVINCE, "/#/?period=month"), ("SO-TP", "/#/unit/SO-TP?period=month")):
        days = pipeline.get(f"/units/{code}/history", period="month")["days"]
        page.goto(address)
        trend = page.locator("section.trend")
        expect(trend.locator("h2")).to_contain_text("Diễn biến theo ngày")
        if days:
            expect(trend.locator("circle.point")).to_have_count(len(days))
            totals = trend.locator("circle.point").evaluate_all(
                "points => points.map(p => Number(p.dataset.total))"
            )
            assert totals == [day["total"] for day in days]
        else:
            expect(trend).to_contain_text("Chưa có lịch sử.")
            expect(trend.locator("svg")).to_have_count(0)
        dashboard.shot(f"trend-{code}")


def test_the_reports_fit_a_phone(pipeline: Pipeline, browser: Browser) -> None:
    with checked(browser, pipeline.api, viewport={"width": 390, "height": 844}) as watched:
        page = watched.page
        page.goto("/#/reports")
        page_window(page)
        expect(page.locator(".loading")).to_have_count(0)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        watched.shot("phone-reports")


def compared_cells(row: dict[str, Any], measures: dict[str, str | None]) -> dict[str, str]:
    """A comparison row's cells as the page writes them."""

    def rate(value: float | None) -> str:
        if value is None:
            return DASH
        return (
            f"{vn(value)} ngày" if measures.get(row["code"]) == "average_days" else f"{vn(value)} %"
        )

    average = measures.get(row["code"]) == "average_days"

    def cell(value: dict[str, Any], part: str) -> str:
        if part == "rate":
            return rate(value["rate"])
        # An average's numerator is the time its dossiers took, in days as its average.
        return days(value[part]) if average and part == "numerator" else vn(value[part])

    def change(part: str) -> str:
        value = row["change"][part]
        return days(value, change=True) if average and part == "numerator" else signed(value)

    return {
        **{
            f"{day}.{part}": cell(row[day], part)
            for day in ("from", "to")
            for part in ("numerator", "denominator", "rate", "points")
        },
        **{f"change.{part}": change(part) for part in ("numerator", "rate", "points")},
    }


def test_the_comparison_shows_the_apis_numbers_and_its_xlsx_holds_them(
    history_api: HistoryApi, browser: Browser
) -> None:
    last = history_api.days[-1]
    with checked(browser, history_api.api, viewport={"width": 1280, "height": 900}) as watched:
        page = watched.page
        page.goto("/#/reports")
        window = page_window(page)
        # The last closed day and a week before it.
        assert window == {"from": str(last - timedelta(days=7)), "to": str(last), "period": "year"}
        body = history_api.get("/reports/comparison", **window)
        measures = {
            i["id"]: i.get("measure") for i in history_api.get("/methodology")["indicators"]
        }
        for code in (PROVINCE, "SO-A"):
            unit = next(u for u in body["units"] if u["unit"]["code"] == code)
            page.get_by_label("Đơn vị", exact=True).select_option(code)
            expect(page.locator(f'.standing[data-unit="{code}"]')).to_be_visible()
            expect(page.locator(".standing [data-col=total_change]")).to_have_text(
                f"({signed(unit['total_change'])})"
            )
            rows = page.locator("table.comparison tbody tr")
            expect(rows).to_have_count(len(unit["rows"]))
            shown = rows.evaluate_all(
                """rows => rows.map(r => Object.fromEntries([...r.querySelectorAll('[data-col]')]
                     .map(c => [c.dataset.col, c.textContent])))"""
            )
            assert shown == [compared_cells(row, measures) for row in unit["rows"]]
            assert any(row["change"]["points"] for row in unit["rows"]), "the week changed"
            watched.shot(f"reports-comparison-{code}")

        xlsx = rows_of(download(page, '.comparison-card a[data-format="xlsx"]', "comparison.xlsx"))
        totals = {row[0]: (row[8], row[12], row[15]) for row in xlsx if row[3] == "Tổng điểm"}
        assert totals == {
            u["unit"]["code"]: (u["from"]["total"], u["to"]["total"], u["total_change"])
            for u in body["units"]
        }


def test_the_trend_draws_a_point_per_closed_day_of_the_history(
    history_api: HistoryApi, browser: Browser
) -> None:
    with checked(browser, history_api.api, viewport={"width": 1280, "height": 900}) as watched:
        page = watched.page
        for code, address in ((PROVINCE, "/#/?period=month"), ("SO-A", "/#/unit/SO-A")):
            days = history_api.get(f"/units/{code}/history", period="month")["days"]
            assert [day["day"] for day in days] == [str(day) for day in history_api.days]
            page.goto(address)
            points = page.locator("section.trend circle.point")
            expect(points).to_have_count(len(days))
            assert points.evaluate_all("ps => ps.map(p => Number(p.dataset.total))") == [
                day["total"] for day in days
            ]
            # Each point says its day and value (hover, or focus by keyboard).
            last = days[-1]
            expect(points.last.locator("title")).to_have_text(
                re.compile(
                    rf"^{last['day'][8:]}/{last['day'][5:7]}: {re.escape(vn(last['total']))} điểm"
                )
            )
            labels = page.locator("section.trend text.day").all_text_contents()
            assert labels[0] == f"{days[0]['day'][8:]}/{days[0]['day'][5:7]}"
            # Reached by keyboard (each point a tab stop), drawn within a phone's width.
            points.last.focus()
            expect(points.last).to_be_focused()
            watched.shot(f"trend-history-{code}")
            # Any of the six groups, and a unit's rank, drawn from the same days.
            group = next(iter(days[-1]["groups"]))
            page.get_by_label("Chỉ tiêu của biểu đồ").select_option(group)
            assert points.evaluate_all("ps => ps.map(p => Number(p.dataset.value))") == [
                day["groups"][group] for day in days
            ]
            expect(page.get_by_label("Chỉ tiêu của biểu đồ")).to_be_focused()
            if code != PROVINCE:
                page.get_by_label("Chỉ tiêu của biểu đồ").select_option("rank")
                assert points.evaluate_all("ps => ps.map(p => Number(p.dataset.value))") == [
                    day["rank"] for day in days
                ]
                watched.shot(f"trend-history-{code}-rank")
            page.set_viewport_size({"width": 390, "height": 844})
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, code
            page.set_viewport_size({"width": 1280, "height": 900})
        # The trend follows the page's period: this week's days, each in its own week.
        weeks = history_api.get(f"/units/{PROVINCE}/history", period="week")["days"]
        page.goto("/#/?period=week")
        expect(page.locator("section.trend h2")).to_contain_text("kỳ tuần")
        expect(points).to_have_count(len(weeks))
        assert points.evaluate_all("ps => ps.map(p => Number(p.dataset.total))") == [
            day["total"] for day in weeks
        ]
