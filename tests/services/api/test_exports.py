"""Rankings and a unit's detail as files: the JSON's numbers, cell by cell, as numbers; each file
conditional and kept like the JSON, in front of the framework too."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.clock import ManualClock
from shared.methodology import Methodologies
from tests.services.api.exports.sample import sheet
from tests.services.api.test_reports import NO_TOPICS, NOW, XLSX, scenario
from tests.support import harness
from tests.support.store import step_until_idle, store

WEEK = {"period": "2026-W46"}
GROUPS = [g.code for g in Methodologies().get(None).groups]
# Title, period line, two notes, a blank row, two header rows.
FIRST_DATA_ROW = 8


@pytest.fixture
async def api(db_url: str) -> AsyncIterator[harness.ApiClient]:
    clock = ManualClock(NOW)
    await store(db_url, scenario())
    await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as client:
        await client.heard_scoring()
        yield client


def values(row: tuple[Any, ...]) -> list[Any]:
    return [cell.value for cell in row]


async def test_rankings_as_xlsx_are_the_json_numbers(api: harness.ApiClient) -> None:
    body = (await api.get("/rankings", params=WEEK)).json()
    response = await api.get("/rankings", params={**WEEK, "format": "xlsx"})
    assert response.headers["content-type"] == XLSX
    ws = sheet(response.content)
    assert ws["A1"].value == "XẾP HẠNG CÁC SỞ, BAN, NGÀNH THEO BỘ CHỈ SỐ 766"
    assert ws["A2"].value == "Từ ngày 09/11/2026 đến ngày 15/11/2026"
    assert ws.cell(6, 5).value == "Điểm theo nhóm chỉ số"
    assert ws.cell(7, 5).value == "Công khai, minh bạch (18)"
    rows = list(ws.iter_rows(min_row=FIRST_DATA_ROW))
    assert len(rows) == len(body["items"]) == 3
    for row, item in zip(rows, body["items"], strict=True):
        change = item["change"] or {}
        assert values(row) == [
            item["rank"],
            item["unit"]["code"],
            item["unit"]["name"],
            item["total"],
            *(item["groups"][code] for code in GROUPS),
            change.get("previous_total"),
            change.get("total"),
            change.get("previous_rank"),
            change.get("rank"),
        ]
        numbers = [row[0], row[3], *row[4:10]]
        assert all(cell.data_type == "n" for cell in numbers)
    assert ws.freeze_panes == f"D{FIRST_DATA_ROW}"
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="Xep-hang-so-ban-nganh-2026-W46.xlsx"; filename*=UTF-8'
    )


async def test_a_units_detail_as_xlsx_is_the_json_numbers(api: harness.ApiClient) -> None:
    body = (await api.get("/units/D-02", params=WEEK)).json()
    ws = sheet((await api.get("/units/D-02", params={**WEEK, "format": "xlsx"})).content)
    assert ws["A1"].value == "KẾT QUẢ BỘ CHỈ SỐ 766: Sở Tài chính"
    rows = [values(row) for row in ws.iter_rows(min_row=FIRST_DATA_ROW)]
    assert rows[0] == [None, None, None, "Tổng điểm", None, None, None, body["total"], 100]
    expected: list[list[Any]] = []
    number = 0
    for roman, group in zip(("I", "II", "III", "IV", "V", "VI"), body["groups"], strict=True):
        identity = [roman, group["code"], group["code"], group["title"]]
        expected.append([*identity, None, None, None, group["points"], group["max_points"]])
        for indicator in (i for i in body["indicators"] if i["group"] == group["code"]):
            number += 1
            rate = indicator["rate"]
            if rate is not None and indicator["id"] != "2.2":
                rate = rate / 100  # a percent cell: 96.49 % is 0.9649
            identity = [str(number), indicator["id"], indicator["group"], indicator["title"]]
            counts = [indicator["numerator"], indicator["denominator"], rate]
            expected.append([*identity, *counts, indicator["points"], indicator["max_points"]])
    assert rows[1:] == expected
    ontime = next(row for row in ws.iter_rows(min_row=FIRST_DATA_ROW) if row[1].value == "2.1")
    assert (ontime[6].number_format, ontime[6].data_type) == ("0.00%", "n")
    days = next(row for row in ws.iter_rows(min_row=FIRST_DATA_ROW) if row[1].value == "2.2")
    assert days[6].number_format == "#,##0.00"


async def test_rankings_as_csv_are_the_json_numbers(api: harness.ApiClient) -> None:
    body = (await api.get("/rankings", params=WEEK)).json()
    response = await api.get("/rankings", params={**WEEK, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode(), newline="")))
    assert [
        (int(r["rank"]), r["unit.code"], float(r["total"]), float(r["groups.TDGQ"])) for r in rows
    ] == [(i["rank"], i["unit"]["code"], i["total"], i["groups"]["TDGQ"]) for i in body["items"]]


async def test_json_is_unchanged_by_the_choice(api: harness.ApiClient) -> None:
    plain = await api.get("/units/D-02", params=WEEK)
    asked = await api.get("/units/D-02", params={**WEEK, "format": "json"})
    assert asked.headers["etag"] == plain.headers["etag"]
    assert asked.content == plain.content
    assert plain.headers["content-type"] == "application/json"


async def test_a_file_is_conditional_and_kept_in_front(api: harness.ApiClient) -> None:
    params = {**WEEK, "format": "xlsx"}
    first = await api.get("/rankings", params=params)
    before = float(api.app.state.front_answers._value.get())
    again = await api.get("/rankings", params=params)
    assert float(api.app.state.front_answers._value.get()) == before + 1
    assert again.content == first.content
    for header in ("content-type", "content-disposition", "etag"):
        assert again.headers[header] == first.headers[header]
    held = await api.get(
        "/rankings", params=params, headers={"If-None-Match": first.headers["etag"]}
    )
    assert held.status_code == 304
    json = await api.get("/rankings", params=WEEK)
    assert json.headers["etag"] != first.headers["etag"]
    assert json.headers["content-type"] == "application/json"
