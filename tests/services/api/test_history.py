"""The history and the comparison through the api, over days scored by the real pipeline: each
day's history is what the live endpoints said just before its end, `as_of` says the same, a late
event restates a day and says so, and the comparison reproduces a hand-built scenario."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from shared.clock import ManualClock
from shared.periods import Calendar
from tests.services.api.exports.sample import sheet
from tests.support import harness
from tests.support.factories import dossier_event, received, unit_event
from tests.support.store import step_until_idle, store

CALENDAR = Calendar()
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)
NO_TOPICS = SimpleNamespace(dossier="d", catalog="c", dead_letter="x")
WEDNESDAY, THURSDAY, FRIDAY = (date(2026, 11, d) for d in (18, 19, 20))


def local(day: date, hour: float) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CALENDAR.tz).astimezone(UTC) + hour * HOUR


def just_before_the_end_of(day: date) -> datetime:
    return local(day + timedelta(days=1), 0) - SECOND


UNITS = [
    unit_event("SO-A", "Sở A", "DEPARTMENT", local(WEDNESDAY, 0) - 30 * 24 * HOUR),
    unit_event("SO-B", "Sở B", "DEPARTMENT", local(WEDNESDAY, 0) - 30 * 24 * HOUR),
]
# Wednesday: A1 on time, A2 overdue from 13:00 (in progress), B1 on time. Thursday: A3 on time.
EVENTS = {
    WEDNESDAY: [
        received("A1", local(WEDNESDAY, 8), unit_code="SO-A", due_in=8 * HOUR),
        dossier_event("A1", "COMPLETED", local(WEDNESDAY, 9), unit_code="SO-A"),
        received("A2", local(WEDNESDAY, 8), unit_code="SO-A", due_in=5 * HOUR),
        received("B1", local(WEDNESDAY, 8), unit_code="SO-B", due_in=8 * HOUR),
        dossier_event("B1", "COMPLETED", local(WEDNESDAY, 9.5), unit_code="SO-B"),
    ],
    THURSDAY: [
        received("A3", local(THURSDAY, 8), unit_code="SO-A", due_in=8 * HOUR),
        dossier_event("A3", "COMPLETED", local(THURSDAY, 9), unit_code="SO-A"),
    ],
    FRIDAY: [],
}


def without_change(body: dict[str, Any]) -> dict[str, Any]:
    """A live body as a read of the past gives it: no change, and evaluated at the midnight."""
    body = {key: value for key, value in body.items() if key not in ("as_of", "change")}
    body["period"] = {**body["period"], "restated_at": None}
    if "items" in body:
        body["items"] = [{**item, "change": None} for item in body["items"]]
    return body


async def test_history_and_as_of_say_what_the_live_scores_said_at_each_days_end(
    db_url: str,
) -> None:
    clock = ManualClock(local(WEDNESDAY, 7))
    await store(db_url, UNITS)
    await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as api:
        live: dict[date, dict[str, Any]] = {}
        for day, events in EVENTS.items():
            clock.set(local(day, 10))
            await store(db_url, events)
            await step_until_idle(db_url, clock)
            clock.set(just_before_the_end_of(day))
            await step_until_idle(db_url, clock)
            await api.heard_scoring()
            live[day] = {
                "detail": (await api.get("/units/SO-A", params={"period": "week"})).json(),
                "province": (await api.get("/units/19", params={"period": "month"})).json(),
                "rankings": (await api.get("/rankings", params={"period": "week"})).json(),
            }
        clock.set(local(FRIDAY + timedelta(days=1), 8))
        await step_until_idle(db_url, clock)
        await api.heard_scoring()

        response = await api.get(
            "/units/SO-A/history",
            params={"period": "week", "from": "2026-11-18", "to": "2026-11-20", "indicators": "1"},
        )
        assert response.status_code == 200, response.text
        series = response.json()
        assert [d["day"] for d in series["days"]] == ["2026-11-18", "2026-11-19", "2026-11-20"]
        for kept in series["days"]:
            seen = live[date.fromisoformat(kept["day"])]["detail"]
            assert kept["period"] == "2026-W47"
            assert kept["total"] == seen["total"]
            assert kept["rank"] == seen["rank"]
            assert kept["groups"] == {g["code"]: g["points"] for g in seen["groups"]}
            assert kept["indicators"] == [
                {k: i[k] for k in ("id", "numerator", "denominator", "rate", "points")}
                for i in seen["indicators"]
            ]
            assert kept["restated_at"] is None
        # A on Wednesday: 1 of 2 on time; from Thursday, 2 of 3.
        on_time = [next(i for i in d["indicators"] if i["id"] == "2.1") for d in series["days"]]
        assert [(i["numerator"], i["denominator"]) for i in on_time] == [(1, 2), (2, 3), (2, 3)]

        for day, seen in live.items():
            at = {"as_of": day.isoformat()}
            detail = (await api.get("/units/SO-A", params={"period": "week", **at})).json()
            assert without_change(detail) == without_change(seen["detail"])
            assert detail["as_of"] == local(day + timedelta(days=1), 0).isoformat().replace(
                "+00:00", "Z"
            )
            province = (await api.get("/units/19", params={"period": "month", **at})).json()
            assert without_change(province) == without_change(seen["province"])
            ranked = (await api.get("/rankings", params={"period": "week", **at})).json()
            assert without_change(ranked) == without_change(seen["rankings"])


async def test_a_late_event_restates_a_day_and_says_so(db_url: str) -> None:
    clock = ManualClock(local(WEDNESDAY, 10))
    await store(db_url, UNITS + EVENTS[WEDNESDAY])
    await step_until_idle(db_url, clock)
    clock.set(local(THURSDAY, 10))
    await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as api:
        params = {"period": "week", "from": "2026-11-18", "to": "2026-11-18"}
        before = (await api.get("/units/SO-A/history", params=params)).json()["days"][0]
        # A2 was finished at 12:00 on Wednesday, on time: the event arrives on Thursday.
        await store(
            db_url, [dossier_event("A2", "COMPLETED", local(WEDNESDAY, 12), unit_code="SO-A")]
        )
        clock.set(local(THURSDAY, 11))
        await step_until_idle(db_url, clock)
        recorded = (await api.get("/units/SO-A/history", params=params)).json()["days"][0]
        restated = (
            await api.get("/units/SO-A/history", params={**params, "view": "restated"})
        ).json()["days"][0]
        assert recorded["total"] == before["total"]
        assert recorded["restated_at"] is not None
        assert restated["restated_at"] == recorded["restated_at"]
        assert restated["groups"]["TDGQ"] == 20.0
        assert recorded["groups"]["TDGQ"] == 10.0
        as_of = (
            await api.get(
                "/units/SO-A", params={"period": "week", "as_of": "2026-11-18", "view": "restated"}
            )
        ).json()
        assert as_of["total"] == restated["total"]
        assert as_of["period"]["restated_at"] == restated["restated_at"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"period": "week", "as_of": "2026-11-19"}, "not in the history"),
        ({"period": "2026-11-03..2026-11-17", "as_of": "2026-11-10"}, "named periods"),
        ({"period": "2026-W40", "as_of": "2026-11-18"}, "is not in 2026-W40"),
    ],
)
async def test_a_day_the_history_does_not_hold_is_refused_with_a_message(
    db_url: str, params: dict[str, str], message: str
) -> None:
    clock = ManualClock(local(WEDNESDAY, 10))
    await store(db_url, UNITS + EVENTS[WEDNESDAY])
    await step_until_idle(db_url, clock)
    clock.set(local(THURSDAY, 10))
    await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as api:
        response = await api.get("/units/SO-A", params=params)
        assert response.status_code == 422, response.text
        assert message in response.text


async def test_before_the_first_day_closes_the_history_is_empty_not_refused(db_url: str) -> None:
    """The dashboard's trend asks before any day closed: no days, and the same answer later
    days fill (an explicit day not closed is still refused, above)."""
    clock = ManualClock(local(WEDNESDAY, 10))
    await store(db_url, UNITS + EVENTS[WEDNESDAY])
    await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as api:
        response = await api.get("/units/SO-A/history", params={"period": "month"})
        assert response.status_code == 200, response.text
        assert response.json()["days"] == []
        refused = await api.get("/units/SO-A/history", params={"to": str(WEDNESDAY)})
        assert refused.status_code == 422, refused.text


async def test_a_young_history_lists_the_days_it_holds_by_default(db_url: str) -> None:
    """Without `from`, the last 30 days the history holds: fewer while it is younger."""
    clock = ManualClock(local(WEDNESDAY, 10))
    await store(db_url, UNITS + EVENTS[WEDNESDAY])
    await step_until_idle(db_url, clock)
    for day in (THURSDAY, FRIDAY):
        clock.set(local(day, 10))
        await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as api:
        response = await api.get("/units/SO-A/history", params={"period": "month"})
        assert response.status_code == 200, response.text
        assert [day["day"] for day in response.json()["days"]] == [str(WEDNESDAY), str(THURSDAY)]


async def test_the_comparison_reproduces_a_hand_built_week(db_url: str) -> None:
    clock = ManualClock(local(WEDNESDAY, 7))
    await store(db_url, UNITS)
    await step_until_idle(db_url, clock)
    for day, events in EVENTS.items():
        clock.set(local(day, 10))
        await store(db_url, events)
        await step_until_idle(db_url, clock)
    clock.set(local(FRIDAY + timedelta(days=1), 8))
    await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as api:
        response = await api.get(
            "/reports/comparison",
            params={"period": "week", "from": "2026-11-18", "to": "2026-11-20"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        workbook = await api.get(
            "/reports/comparison",
            params={"period": "week", "from": "2026-11-18", "to": "2026-11-20", "format": "xlsx"},
        )
    assert "TỪ NGÀY 18/11/2026 ĐẾN NGÀY 20/11/2026" in body["title"]
    assert_the_file_holds_the_json(workbook, body)
    assert (body["from"]["period"], body["to"]["period"]) == ("2026-W47", "2026-W47")
    assert [u["unit"]["code"] for u in body["units"]] == ["19", "SO-A", "SO-B"]
    province, so_a, so_b = body["units"]
    stt = [row["stt"] for row in so_a["rows"]]
    # The letter's rows, each group's other indicators (null numbers) after them.
    assert stt == [
        *("I", "1", "2", "3", "4", "II", "5", "6", None, "III"),
        *("7", "7.1", "7.3", "7.4", "8", "8.1", "8.2", "8.4", "IV", "9", "10", "11", None),
        *("V", "12", "13", "14", "15", None, None, None),
    ]
    assert [r["code"] for r in so_a["rows"] if r["stt"] is None] == [
        "2.2",
        "5.1",
        "4.4",
        "4.5b",
        "4.5a",
    ]
    assert stt[-5:] == ["12", "13", "14", "15", None] or "15" in stt

    def row(unit: dict[str, Any], number: str) -> dict[str, Any]:
        return next(r for r in unit["rows"] if r["stt"] == number)

    # SO-A: 1 of 2 on time on Wednesday (10 of 20 points), 2 of 3 on Friday (13.33).
    on_time = row(so_a, "5")
    assert on_time["label"] == "Tỷ lệ hồ sơ xử lý đúng hạn"
    assert (on_time["code"], on_time["max_points"]) == ("2.1", 20.0)
    assert on_time["from"] == {"numerator": 1, "denominator": 2, "rate": 50.0, "points": 10.0}
    assert on_time["to"] == {"numerator": 2, "denominator": 3, "rate": 66.67, "points": 13.33}
    assert on_time["change"] == {"numerator": 1, "rate": 16.67, "points": 3.33}
    overdue = row(so_a, "6")
    assert overdue["label"] == "Tỷ lệ hồ sơ xử lý quá hạn"
    assert overdue["from"] == {"numerator": 1, "denominator": 2, "rate": 50.0, "points": None}
    assert overdue["to"] == {"numerator": 1, "denominator": 3, "rate": 33.33, "points": None}
    assert overdue["change"] == {"numerator": 0, "rate": -16.67, "points": None}
    group = row(so_a, "II")
    assert (group["label"], group["max_points"]) == ("Tiến độ, kết quả giải quyết", 20.0)
    assert (group["from"]["points"], group["to"]["points"], group["change"]["points"]) == (
        10.0,
        13.33,
        3.33,
    )
    section = row(so_a, "III")
    assert (section["code"], section["max_points"]) == ("CLGQ+TTTT", 22.0)
    # SO-B: always on time. The province pools both: 2 of 3, then 3 of 4.
    assert row(so_b, "5")["from"]["points"] == row(so_b, "5")["to"]["points"] == 20.0
    assert row(province, "5")["from"] == {
        "numerator": 2,
        "denominator": 3,
        "rate": 66.67,
        "points": 13.33,
    }
    assert row(province, "5")["to"] == {
        "numerator": 3,
        "denominator": 4,
        "rate": 75.0,
        "points": 15.0,
    }
    # Ranks among the departments; the province has none.
    assert (so_a["from"]["rank"], so_a["to"]["rank"], so_a["rank_change"]) == (2, 2, 0)
    assert (so_b["from"]["rank"], so_b["to"]["rank"]) == (1, 1)
    assert province["from"]["rank"] is None
    assert province["rank_change"] is None
    assert so_a["total_change"] == pytest.approx(so_a["to"]["total"] - so_a["from"]["total"])
    # Satisfaction (5.4, full at 90%, 6 points) follows the dossiers finished: 1 of 2, 2 of 3.
    satisfied = row(so_a, "10")
    assert (satisfied["code"], satisfied["from"]["points"], satisfied["to"]["points"]) == (
        "5.4",
        3.33,
        4.44,
    )
    # Nothing else moved: the total gains 3.33 + 1.11.
    moved = {r["code"] for r in so_a["rows"] if r["change"]["points"]}
    assert moved == {"2.1", "TDGQ", "5.4", "MDHL"}
    assert so_a["total_change"] == pytest.approx(4.44)


def assert_the_file_holds_the_json(workbook: httpx.Response, body: dict[str, Any]) -> None:
    """The comparison's XLSX: a title, the days, two header rows, then each unit's total and
    rows, every number the JSON's, as a number (rates as fractions of one, shown in percent)."""
    assert workbook.status_code == 200
    assert "filename*=UTF-8''" in workbook.headers["content-disposition"]
    ws = sheet(workbook.content)
    assert ws["A1"].value == body["title"]
    assert ws["A2"].value == "Từ ngày 18/11/2026 đến ngày 20/11/2026"
    header = next(r for r in range(1, 12) if ws.cell(r, 1).value == "Mã đơn vị")
    assert ws.cell(header, 6).value == "Ngày 18/11/2026"
    data = list(ws.iter_rows(min_row=header + 2, values_only=True))
    expected: list[tuple[Any, ...]] = []
    for unit in body["units"]:
        code, name = unit["unit"]["code"], unit["unit"]["name"]
        totals = (unit["from"]["total"], unit["to"]["total"])
        expected.append((code, name, None, "Tổng điểm", 100, *totals, None))
        for row in unit["rows"]:
            labels = (row["stt"], row["label"], row["max_points"])
            expected.append((code, name, *labels, row["from"], row["to"], row["code"]))
    assert len(data) == len(expected)
    for got, want in zip(data, expected, strict=True):
        assert got[:4] == want[:4]
        assert got[4] == want[4]
        if want[3] == "Tổng điểm":
            assert (got[8], got[12]) == (want[5], want[6])
            continue
        for offset, side in ((5, want[5]), (9, want[6])):
            numerator, denominator, rate, points = got[offset : offset + 4]
            assert (numerator, denominator, points) == (
                side["numerator"],
                side["denominator"],
                side["points"],
            )
            if side["rate"] is None:
                assert rate is None
            else:
                assert isinstance(rate, int | float)
                # 2.2's "rate" is an average of days, kept as it is.
                scale = 1 if want[7] == "2.2" else 100
                assert rate == pytest.approx(side["rate"] / scale)
