"""The dashboard's pages against the real pipeline: the numbers on screen are the api's."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import COMMUNES, DEPARTMENTS, NOW, Pipeline, Watched, checked
from tests.browser.numbers import DASH, days, signed, vn

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
ROWS = """rows => rows.map(row => [row.dataset.unit,
  Object.fromEntries([...row.cells].map(cell => [cell.dataset.col, cell.textContent]))])"""


def shown_rankings(page: Page) -> dict[str, dict[str, str]]:
    return dict(page.eval_on_selector_all("table.rankings tbody tr", ROWS))


def expected_rankings(rankings: dict[str, Any], groups: list[str]) -> dict[str, dict[str, str]]:
    def rank_change(item: dict[str, Any]) -> str:
        change = item["change"]
        return DASH if change is None or change["rank"] is None else signed(change["rank"])

    return {
        item["unit"]["code"]: {
            "rank": str(item["rank"]),
            "name": item["unit"]["name"],
            "total": vn(item["total"]),
            **{group: vn(item["groups"].get(group)) for group in groups},
            "change": signed(item["change"]["total"]) if item["change"] else DASH,
            "rankChange": rank_change(item),
        }
        for item in rankings["items"]
    }


def test_the_rankings_show_every_unit_with_the_apis_numbers(
    dashboard: Watched, pipeline: Pipeline
) -> None:
    groups = [group["code"] for group in pipeline.get("/methodology")["groups"]]
    page = dashboard.page
    for level, units in (("department", DEPARTMENTS), ("commune", COMMUNES)):
        rankings = pipeline.get("/rankings", level=level, period="month")
        assert {item["unit"]["code"] for item in rankings["items"]} == set(units)
        page.goto(f"/#/rankings?level={level}&period=month")
        expect(page.locator("table.rankings tbody tr")).to_have_count(len(units))
        assert shown_rankings(page) == expected_rankings(rankings, groups)
        dashboard.shot(f"rankings-{level}")

    # SO-NV and SO-YT did the same: one rank for both, and the next rank skips (1224).
    ranks = [item["rank"] for item in pipeline.get("/rankings", period="month")["items"]]
    assert len(set(ranks)) < len(ranks)


def test_the_rankings_of_a_range_of_days(dashboard: Watched, pipeline: Pipeline) -> None:
    today = NOW.astimezone(LOCAL).date()
    days = f"{today - timedelta(days=6)}..{today}"
    rankings = pipeline.get("/rankings", level="department", period=days)
    page = dashboard.page
    page.goto("/#/rankings?level=department&period=week")
    page.get_by_label("Kỳ", exact=True).select_option("range")
    page.get_by_label("Từ ngày").fill(str(today - timedelta(days=6)))
    page.get_by_label("Đến ngày").fill(str(today))
    page.get_by_role("button", name="Xem").click()
    expect(page.locator("table.rankings caption")).to_contain_text(days)
    groups = [group["code"] for group in pipeline.get("/methodology")["groups"]]
    assert shown_rankings(page) == expected_rankings(rankings, groups)
    # The address keeps the range: a reload or a shared link shows the same screen.
    assert f"period={days}" in page.url


def test_the_rankings_sort_and_search_from_the_keyboard(
    dashboard: Watched, pipeline: Pipeline
) -> None:
    rankings = pipeline.get("/rankings", level="department", period="month")["items"]
    page = dashboard.page
    page.goto("/#/rankings?level=department&period=month")
    expect(page.locator("table.rankings tbody tr")).to_have_count(len(rankings))

    page.locator('button[data-sort="total"]').focus()
    page.keyboard.press("Enter")
    by_total = sorted(rankings, key=lambda item: (item["total"], item["rank"]))
    order = page.eval_on_selector_all(
        "table.rankings tbody tr", "rows => rows.map(r => r.dataset.unit)"
    )
    assert order == [item["unit"]["code"] for item in by_total]
    expect(page.locator('th:has(button[data-sort="total"])')).to_have_attribute(
        "aria-sort", "ascending"
    )

    page.get_by_label("Tìm đơn vị").fill("tu phap")
    expect(page.locator("table.rankings tbody tr")).to_have_count(1)
    expect(page.locator("table.rankings tbody tr")).to_have_attribute("data-unit", "SO-TP")


def test_a_unit_shows_every_indicator_and_its_numerator_lists_the_audits_dossiers(
    dashboard: Watched, pipeline: Pipeline
) -> None:
    detail = pipeline.get("/units/SO-TP", period="month")
    page = dashboard.page
    page.goto("/#/unit/SO-TP?period=month")
    expect(page.locator("table.indicators tbody tr")).to_have_count(len(detail["indicators"]))
    for indicator in detail["indicators"]:
        row = page.locator(f'tr[data-indicator="{indicator["id"]}"]')
        # 2.2's numerator is the time its dossiers took, in days as its average.
        numerator = days if indicator["id"] == "2.2" else vn
        expect(row.locator('[data-col="numerator"]')).to_have_text(
            numerator(indicator["numerator"])
        )
        expect(row.locator('[data-col="denominator"]')).to_have_text(vn(indicator["denominator"]))
        if indicator["rate"] is None:
            expect(row.locator('[data-col="rate"]')).to_have_text(DASH)
        if indicator["scored"]:
            expect(row.locator('[data-col="points"]')).to_have_text(vn(indicator["points"]))
            expect(row.locator('[data-col="max"]')).to_have_text(vn(indicator["max_points"]))
    assert any(indicator["rate"] is None for indicator in detail["indicators"])

    overdue = pipeline.get("/units/SO-TP/overdue", page_size=100)
    shown = page.eval_on_selector_all(
        "table.overdue tbody tr", "rows => rows.map(r => r.dataset.dossier)"
    )
    assert shown == [item["dossier_code"] for item in overdue["items"]] == ["TP-2"]
    dashboard.shot("unit-SO-TP")

    ontime = next(indicator for indicator in detail["indicators"] if indicator["id"] == "2.1")
    listed = pipeline.get(ontime["dossiers"], part="numerator", page_size=100)
    assert listed["items"], "the scenario has on-time dossiers"
    page.locator('tr[data-indicator="2.1"] a[data-part="numerator"]').click()
    rows = page.locator("table.audit tbody tr")
    expect(rows).to_have_count(len(listed["items"]))
    shown = page.eval_on_selector_all(
        "table.audit tbody tr", "rows => rows.map(r => r.dataset.key)"
    )
    assert shown == [item["dossier_code"] for item in listed["items"]]
    dashboard.shot("list-SO-TP-2.1-numerator")


def test_the_province_shows_its_groups_and_its_best_and_worst_units(
    dashboard: Watched, pipeline: Pipeline
) -> None:
    province = pipeline.get("/units/19", period="month")
    best = pipeline.get("/rankings", level="department", period="month")["items"][0]
    page = dashboard.page
    page.goto("/#/?period=month")
    expect(page.locator(".province-score [data-field=total]")).to_have_text(vn(province["total"]))
    for group in province["groups"]:
        expect(page.locator(f'li[data-group="{group["code"]}"] .group-points')).to_have_text(
            f"{vn(group['points'])} / {vn(group['max_points'])}"
        )
    expect(page.locator('[data-level="department"] .best li').first).to_contain_text(
        best["unit"]["name"]
    )
    expect(page.locator("#updated")).to_have_text(re.compile(r"cập nhật \d\d:\d\d"))
    dashboard.shot("province")


def test_the_pages_fit_a_phone(pipeline: Pipeline, browser: Browser) -> None:
    with checked(browser, pipeline.api, viewport={"width": 390, "height": 844}) as watched:
        page = watched.page
        for name, address in (
            ("province", "/#/?period=month"),
            ("rankings", "/#/rankings?level=department&period=month"),
            ("unit", "/#/unit/SO-TP?period=month"),
        ):
            page.goto(address)
            expect(page.locator("main .card").first).to_be_visible()
            expect(page.locator(".loading")).to_have_count(0)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
            watched.shot(f"phone-{name}")
