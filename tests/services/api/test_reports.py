"""The overdue report (the seed letter's Phụ lục II) over a hand-built week: which units, how many
dossiers each, in the letter's order, each count's link listing exactly those dossiers; the same
numbers as XLSX and CSV, read back."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from shared.clock import ManualClock
from tests.services.api.exports.sample import FORMULA, sheet
from tests.support import harness
from tests.support.factories import dossier_event, received, unit_event
from tests.support.store import step_until_idle, store

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# Friday 20/11/2026 10:00 in Hà Nội; the window is the week before last, Monday 9 to Sunday 15.
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
WINDOW = {"from": "2026-11-09", "to": "2026-11-15"}
NO_TOPICS = SimpleNamespace(dossier="d", catalog="c", dead_letter="x")
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# What the report must say, worked out by hand from the events below: departments first, then
# communes, each level by code, then a unit no catalogue event has described; never by count.
EXPECTED = {
    "D-01": {"NN-late"},
    "D-02": {"TC-finished-late", "TC-open-late", "TC-two-supplements", "TC-late-since"},
    "C-01": {"VX-finished-late", "VX-open-late"},
    "C-02": {"HL-open-late"},
    "U-09": {"UK-open-late"},
}


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=TZ)


def scenario() -> list[dict[str, Any]]:
    """The units and dossiers of the report's hand-built week."""
    earlier = NOW - 60 * DAY
    return [
        unit_event("C-01", "Phường Vạn Xuân", "COMMUNE", earlier),
        unit_event("C-02", FORMULA, "COMMUNE", earlier),
        unit_event("D-01", "Sở Nông nghiệp và Môi trường", "DEPARTMENT", earlier),
        unit_event("D-02", "Sở Tài chính", "DEPARTMENT", earlier),
        unit_event("D-03", "Sở Tư pháp", "DEPARTMENT", earlier),
        # Sở Tài chính: late in the window, three ways; and three that are not in it.
        received("TC-finished-late", at(10), unit_code="D-02", due_in=2 * DAY),
        dossier_event("TC-finished-late", "COMPLETED", at(13), unit_code="D-02"),
        received("TC-open-late", at(2), unit_code="D-02", due_in=2 * DAY),
        # Not late by the clock, but asked twice for a supplement: overdue by the rule.
        received("TC-two-supplements", at(10, 8), unit_code="D-02", due_in=20 * DAY),
        dossier_event("TC-two-supplements", "SUPPLEMENT_REQUESTED", at(11), unit_code="D-02"),
        dossier_event("TC-two-supplements", "SUPPLEMENTED", at(12), unit_code="D-02"),
        dossier_event("TC-two-supplements", "SUPPLEMENT_REQUESTED", at(13), unit_code="D-02"),
        # Finished late before the window began.
        received("TC-late-before", at(2), unit_code="D-02", due_in=DAY),
        dossier_event("TC-late-before", "COMPLETED", at(5), unit_code="D-02"),
        # In progress within its due date.
        received("TC-on-time", at(10), unit_code="D-02", due_in=15 * DAY),
        # Processed in the window, overdue only since 17/11: the overdue list holds it, so the
        # report counts it (overdue now, processed in the window: docs/architecture.md).
        received("TC-late-since", at(12), unit_code="D-02", due_in=5 * DAY),
        # Late, but received after the window's end.
        received("TC-received-after", at(16), unit_code="D-02", due_in=DAY),
        received("NN-late", at(13), unit_code="D-01", due_in=DAY),
        # Sở Tư pháp: finished on time in the window, so not in the report.
        received("TP-on-time", at(10), unit_code="D-03", due_in=2 * DAY),
        dossier_event("TP-on-time", "COMPLETED", at(11), unit_code="D-03"),
        received("VX-finished-late", at(9), unit_code="C-01", due_in=DAY),
        dossier_event("VX-finished-late", "COMPLETED", at(11), unit_code="C-01"),
        received("VX-open-late", at(9), unit_code="C-01", due_in=DAY),
        received("HL-open-late", at(15, 8), unit_code="C-02", due_in=2 * HOUR),
        received("UK-open-late", at(12), unit_code="U-09", due_in=DAY),
    ]


@pytest.fixture
async def api(db_url: str) -> AsyncIterator[harness.ApiClient]:
    clock = ManualClock(NOW)
    await store(db_url, scenario())
    await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as client:
        yield client


async def test_the_report_lists_the_overdue_units_as_the_letter_does(
    api: harness.ApiClient,
) -> None:
    response = await api.get("/reports/overdue", params=WINDOW)
    assert response.status_code == 200
    body = response.json()
    assert [(i["unit"]["code"], i["overdue"]) for i in body["items"]] == [
        (code, len(codes)) for code, codes in EXPECTED.items()
    ]
    assert [i["unit"]["level"] for i in body["items"]] == [
        "DEPARTMENT",
        "DEPARTMENT",
        "COMMUNE",
        "COMMUNE",
        None,
    ]
    assert body["total"] == 9
    assert body["level"] is None
    assert body["period"]["key"] == "2026-11-09..2026-11-15"
    assert body["period"]["start"] == "2026-11-09T00:00:00+07:00"
    assert body["items"][2]["dossiers"] == "/units/C-01/overdue?period=2026-11-09..2026-11-15"


async def test_each_count_links_to_exactly_its_dossiers(api: harness.ApiClient) -> None:
    body = (await api.get("/reports/overdue", params=WINDOW)).json()
    for item in body["items"]:
        listed = (await api.get(item["dossiers"] + "&page_size=500")).json()
        assert listed["total"] == item["overdue"]
        assert {d["dossier_code"] for d in listed["items"]} == EXPECTED[item["unit"]["code"]]


@pytest.mark.parametrize(
    ("level", "codes"), [("department", ["D-01", "D-02"]), ("commune", ["C-01", "C-02"])]
)
async def test_a_level_keeps_its_own_units(
    api: harness.ApiClient, level: str, codes: list[str]
) -> None:
    body = (await api.get("/reports/overdue", params={**WINDOW, "level": level})).json()
    assert [i["unit"]["code"] for i in body["items"]] == codes
    assert body["total"] == sum(len(EXPECTED[code]) for code in codes)
    assert body["level"] == level


async def test_the_xlsx_holds_the_json_numbers_cell_by_cell(api: harness.ApiClient) -> None:
    body = (await api.get("/reports/overdue", params=WINDOW)).json()
    response = await api.get("/reports/overdue", params={**WINDOW, "format": "xlsx"})
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    ws = sheet(response.content)
    assert ws["A1"].value == (
        "HỒ SƠ QUÁ HẠN XỬ LÝ TRONG KỲ CỦA CÁC SỞ, BAN, NGÀNH VÀ ỦY BAN NHÂN DÂN CÁC XÃ, PHƯỜNG"
    )
    assert ws["A2"].value == "Từ ngày 09/11/2026 đến ngày 15/11/2026"
    assert ws["A4"].value == "Tổng số: 9 hồ sơ quá hạn tại 5 đơn vị"
    assert [ws.cell(6, c).value for c in range(1, 5)] == [
        "STT",
        "Mã đơn vị",
        "Đơn vị giải quyết TTHC",
        "Hồ sơ quá hạn xử lý trong kỳ",
    ]
    assert [ws.cell(7, c).value for c in (4, 5)] == ["Số hồ sơ", "Danh sách hồ sơ"]
    rows = list(ws.iter_rows(min_row=8))
    assert len(rows) == len(body["items"])
    for position, (row, item) in enumerate(zip(rows, body["items"], strict=True), start=1):
        number, code, name, overdue, link = row
        assert (number.value, number.data_type) == (position, "n")
        assert (code.value, name.value) == (item["unit"]["code"], item["unit"]["name"])
        assert name.data_type == "s"
        assert (overdue.value, overdue.data_type) == (item["overdue"], "n")
        assert link.hyperlink.target == "http://api" + item["dossiers"]
    # A unit named like a formula stays its name, as text.
    formula = rows[3][2]
    assert (formula.value, formula.data_type, formula.quotePrefix) == (FORMULA, "s", True)
    assert ws.freeze_panes == "D8"
    assert ws.auto_filter.ref == "A7:E12"


async def test_the_csv_holds_the_json_numbers(api: harness.ApiClient) -> None:
    body = (await api.get("/reports/overdue", params=WINDOW)).json()
    response = await api.get("/reports/overdue", params={**WINDOW, "format": "csv"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8; header=present"
    rows = list(csv.DictReader(io.StringIO(response.content.decode(), newline="")))
    assert len(rows) == len(body["items"])
    for position, (row, item) in enumerate(zip(rows, body["items"], strict=True), start=1):
        assert int(row["position"]) == position
        assert (row["unit.code"], int(row["overdue"])) == (item["unit"]["code"], item["overdue"])
        assert row["dossiers"] == item["dossiers"]
        name = item["unit"]["name"]
        # Defused for a spreadsheet that opens it.
        assert row["unit.name"] == ("'" + name if name == FORMULA else name)


async def test_a_file_has_a_browsers_name_and_its_own_etag(api: harness.ApiClient) -> None:
    json = await api.get("/reports/overdue", params=WINDOW)
    xlsx = await api.get("/reports/overdue", params={**WINDOW, "format": "xlsx"})
    assert xlsx.headers["content-disposition"] == (
        'attachment; filename="Ho-so-qua-han-so-ban-nganh-va-xa-phuong-2026-11-09_2026-11-15.xlsx"'
        "; filename*=UTF-8''H%E1%BB%93%20s%C6%A1%20qu%C3%A1%20h%E1%BA%A1n%20s%E1%BB%9F%20ban%20"
        "ng%C3%A0nh%20v%C3%A0%20x%C3%A3%20ph%C6%B0%E1%BB%9Dng-2026-11-09_2026-11-15.xlsx"
    )
    assert "content-disposition" not in json.headers
    assert xlsx.headers["etag"] != json.headers["etag"]
    for response in (json, xlsx):
        again = await api.get(
            str(response.url), headers={"If-None-Match": response.headers["etag"]}
        )
        assert again.status_code == 304
        assert again.headers["etag"] == response.headers["etag"]
    # The other format's tag is not this one's.
    crossed = await api.get(
        "/reports/overdue",
        params={**WINDOW, "format": "csv"},
        headers={"If-None-Match": xlsx.headers["etag"]},
    )
    assert crossed.status_code == 200


async def test_the_report_moves_when_scoring_does(db_url: str, api: harness.ApiClient) -> None:
    first = await api.get("/reports/overdue", params=WINDOW)
    await store(
        db_url,
        [
            # Finished late within the window: still overdue in it.
            dossier_event("NN-late", "COMPLETED", at(14, 15), unit_code="D-01"),
            received("NN-new", at(15, 8), unit_code="D-01", due_in=HOUR),
        ],
    )
    await step_until_idle(db_url, ManualClock(NOW + HOUR))
    await api.heard_scoring()
    polled = await api.get(
        "/reports/overdue", params=WINDOW, headers={"If-None-Match": first.headers["etag"]}
    )
    assert polled.status_code == 200
    assert polled.json()["total"] == 10
    assert polled.json()["items"][0]["overdue"] == 2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({**WINDOW, "format": "pdf"}, "Input should be 'json', 'xlsx' or 'csv'"),
        ({"from": "2026-11-15", "to": "2026-11-09"}, "a range ends on or after its first day"),
        ({"from": "2025-01-01", "to": "2026-11-09"}, "a range is at most 366 days long"),
        ({"from": "2026-11-09"}, "Field required"),
        ({"from": "9/11/2026", "to": "2026-11-15"}, "valid date"),
        ({**WINDOW, "level": "village"}, "'department' or 'commune'"),
    ],
)
async def test_bad_requests_get_a_422_with_a_message(
    api: httpx.AsyncClient, params: dict[str, str], message: str
) -> None:
    response = await api.get("/reports/overdue", params=params)
    assert response.status_code == 422
    assert message in str(response.json()["detail"])
