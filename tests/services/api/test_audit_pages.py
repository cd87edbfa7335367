"""The lists behind the numbers, page by page: keyset pages that add up to the list, whatever is
added between them; totals that are the kept counts; the shortfall; cursors that are checked."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import orjson
import pytest

from shared.clock import ManualClock
from tests.support import harness
from tests.support.factories import dossier_event, feedback_event, received, unit_event
from tests.support.store import step_until_idle, store

# Friday 20/11/2026 10:00 in Hà Nội: week 47 runs from Monday 16/11 (local).
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
WEEK_START = datetime(2026, 11, 15, 17, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
UNIT = "SO-K"
NO_TOPICS = SimpleNamespace(dossier="d", catalog="c", dead_letter="x")
ON_TIME = "/units/SO-K/indicators/2.1/dossiers"


def _week_47_dossiers() -> list[dict[str, Any]]:
    """Dossiers of every kind a processing period meets, received in a shuffled order."""
    events: list[dict[str, Any]] = []

    def dossier(code: str, at: datetime, due_in: timedelta, finished: datetime | None) -> None:
        events.append(received(code, at, unit_code=UNIT, due_in=due_in))
        if finished is not None:
            events.append(dossier_event(code, "COMPLETED", finished, unit_code=UNIT))

    for i in range(5):  # finished before the week: in no list of it
        dossier(f"GONE{i}", WEEK_START - 8 * DAY + i * HOUR, DAY, WEEK_START - 2 * DAY)
    for i in range(6):  # carried over and finished in the week, every other one late
        dossier(f"CARRY{i}", WEEK_START - 3 * DAY + i * HOUR, 3 * DAY + i % 2 * 3 * DAY, None)
        late = i % 2 == 0
        events.append(
            dossier_event(
                f"CARRY{i}", "COMPLETED", WEEK_START + (4 if late else 1) * DAY, unit_code=UNIT
            )
        )
    for i in range(5):  # carried over, still open; the first three past their due date
        dossier(f"OPEN{i}", WEEK_START - 2 * DAY + i * HOUR, (2 if i < 3 else 9) * DAY, None)
    for i in range(7):  # received in the week, the odd ones finished late
        at = WEEK_START + DAY + i * 3 * HOUR
        dossier(f"NEW{i}", at, DAY, at + (2 * DAY if i % 2 else HOUR))
    # Two received at the same instant: the code breaks the tie.
    dossier("TIE-B", WEEK_START + 2 * DAY, DAY, None)
    dossier("TIE-A", WEEK_START + 2 * DAY, DAY, None)
    return events[::-1]


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    clock = ManualClock(NOW)
    await store(
        db_url,
        [unit_event(UNIT, "Sở K", "DEPARTMENT", NOW - 30 * DAY), *_week_47_dossiers()],
    )
    await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as api:
        yield api


async def _pages(
    client: httpx.AsyncClient, path: str, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(every page's body, every item) following next_cursor from the first page."""
    pages: list[dict[str, Any]] = []
    query = dict(params)
    while True:
        response = await client.get(path, params=query)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages, [item for page in pages for item in page["items"]]
        query = {**params, "cursor": cursor}


def _codes(items: list[dict[str, Any]]) -> list[str]:
    return [item["dossier_code"] for item in items]


async def test_keyset_pages_add_up_to_the_list_in_order_with_totals_from_the_counts(
    client: httpx.AsyncClient,
) -> None:
    detail = (await client.get(f"/units/{UNIT}", params={"period": "2026-W47"})).json()
    counted = next(i for i in detail["indicators"] if i["id"] == "2.1")
    whole = (await client.get(ON_TIME, params={"period": "2026-W47", "page_size": 500})).json()
    assert whole["next_cursor"] is None
    assert whole["next"] is None
    assert len(whole["items"]) == whole["total"] == counted["denominator"] == 20
    assert not any(code.startswith("GONE") for code in _codes(whole["items"]))
    keys = [(item["received_at"], item["dossier_code"]) for item in whole["items"]]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    assert _codes(whole["items"]).index("TIE-A") + 1 == _codes(whole["items"]).index("TIE-B")

    pages, items = await _pages(client, ON_TIME, {"period": "2026-W47", "page_size": 3})
    assert items == whole["items"]
    assert [len(page["items"]) for page in pages] == [3] * 6 + [2]
    assert {page["total"] for page in pages} == {20}
    assert pages[0]["next"].startswith(f"{ON_TIME}?period=2026-W47&part=denominator&page_size=3")

    numerator = await _pages(client, ON_TIME, {"period": "2026-W47", "part": "numerator"})
    shortfall = await _pages(
        client, ON_TIME, {"period": "2026-W47", "part": "shortfall", "page_size": 2}
    )
    in_numerator = [i["dossier_code"] for i in whole["items"] if i["in_numerator"]]
    assert _codes(numerator[1]) == in_numerator
    assert numerator[0][0]["total"] == counted["numerator"] == len(in_numerator)
    # The shortfall is the denominator less the numerator, in the list's order.
    assert _codes(shortfall[1]) == [c for c in _codes(whole["items"]) if c not in in_numerator]
    assert shortfall[0][0]["total"] == counted["denominator"] - counted["numerator"]
    assert {"OPEN0", "OPEN1", "OPEN2", "CARRY0", "NEW1"} <= set(_codes(shortfall[1]))
    assert not any(item["in_numerator"] for item in shortfall[1])


async def test_rows_added_between_pages_neither_repeat_nor_hide_the_rest(
    db_url: str, client: httpx.AsyncClient
) -> None:
    params = {"period": "2026-W47", "page_size": 4}
    before, _ = await _pages(client, ON_TIME, {**params, "page_size": 500})
    listed = _codes(before[0]["items"])
    first = (await client.get(ON_TIME, params=params)).json()
    # Meanwhile: one received before the page's last item, one after it, one finished late.
    await store(
        db_url,
        [
            received("EARLY", WEEK_START - 3.5 * DAY, unit_code=UNIT, due_in=9 * DAY),
            received("LATE", NOW - HOUR, unit_code=UNIT, due_in=9 * DAY),
        ],
    )
    await step_until_idle(db_url, ManualClock(NOW))
    rest = await _pages(client, ON_TIME, {**params, "cursor": first["next_cursor"]})
    seen = _codes(first["items"]) + _codes(rest[1])
    assert len(seen) == len(set(seen))
    assert [code for code in seen if code in listed] == listed
    assert "LATE" in seen
    assert "EARLY" not in seen
    assert rest[0][-1]["total"] == len(listed) + 2


async def test_the_deprecated_page_numbers_still_page_the_same_list(
    client: httpx.AsyncClient,
) -> None:
    _, items = await _pages(client, ON_TIME, {"period": "2026-W47", "page_size": 6})
    numbered = []
    for page in (1, 2, 3, 4):
        body = (
            await client.get(ON_TIME, params={"period": "2026-W47", "page_size": 6, "page": page})
        ).json()
        assert body["page"] == page
        numbered.extend(body["items"])
    assert numbered == items


async def test_overdue_pages_follow_the_cursor_most_overdue_first(
    client: httpx.AsyncClient,
) -> None:
    whole = (await client.get(f"/units/{UNIT}/overdue", params={"page_size": 500})).json()
    pages, items = await _pages(client, f"/units/{UNIT}/overdue", {"page_size": 2})
    assert items == whole["items"]
    assert len(items) == whole["total"] == 16
    assert [i["due_at"] for i in items] == sorted(i["due_at"] for i in items)
    assert len(pages) == 8
    assert pages[0]["next"].startswith(f"/units/{UNIT}/overdue?page_size=2&cursor=")


async def test_feedback_pages_follow_the_cursor(db_url: str, client: httpx.AsyncClient) -> None:
    await store(
        db_url,
        [
            feedback_event(f"F{i}", "RECEIVED", NOW - (i + 1) * DAY, unit_code=UNIT)
            for i in range(5)
        ],
    )
    await step_until_idle(db_url, ManualClock(NOW))
    path = f"/units/{UNIT}/indicators/5.2/feedback"
    whole = (await client.get(path, params={"period": "2026-11", "page_size": 500})).json()
    _, items = await _pages(client, path, {"period": "2026-11", "page_size": 2})
    assert items == whole["items"]
    assert whole["total"] == 5
    assert [i["feedback_id"] for i in items] == ["F4", "F3", "F2", "F1", "F0"]


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode()


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        (ON_TIME, {"cursor": "not a cursor!"}, "not one this api gave"),
        (ON_TIME, {"cursor": _cursor({"a": 1})}, "not one this api gave"),
        (ON_TIME, {"cursor": _cursor([1, 2])}, "not one this api gave"),
        (ON_TIME, {"cursor": _cursor(["yesterday", "X"])}, "not one of this list"),
        (ON_TIME, {"cursor": _cursor(["2026-11-18T00:00:00", "X"])}, "not one of this list"),
        (ON_TIME, {"cursor": _cursor(["2026-11-18T00:00:00+00:00"])}, "not one of this list"),
        (ON_TIME, {"cursor": _cursor([None, "X"])}, "not one of this list"),
        (ON_TIME, {"cursor": _cursor(["2026-11-18T00:00:00+00:00", "X"]), "page": 2}, "not both"),
        (ON_TIME, {"part": "most"}, "denominator"),
        (f"/units/{UNIT}/overdue", {"cursor": "%%%"}, "not one this api gave"),
        (f"/units/{UNIT}/overdue", {"cursor": _cursor(["x", "y"])}, "not one of this list"),
        ("/units/SO-K/indicators/2.2/dossiers", {"part": "numerator"}, "only its denominator"),
        ("/units/SO-K/indicators/2.2/dossiers", {"part": "shortfall"}, "only its denominator"),
    ],
)
async def test_garbage_cursors_and_parts_get_a_422_with_a_message(
    client: httpx.AsyncClient, path: str, params: dict[str, Any], message: str
) -> None:
    response = await client.get(path, params={"period": "2026-W47", **params})
    assert response.status_code == 422
    assert message in str(response.json()["detail"])
