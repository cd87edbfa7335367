"""Guidance through the real pipeline: for a hand-built unit, each fix's gain is the difference
between the score now and the score of the same events with the fix applied (as events, scored
by the scoring service, read from the api), for the unit and for the province; the forecast's two
cases are the scores the period ends with when its dossiers do what each case assumes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from shared.clock import ManualClock
from tests.support import harness
from tests.support.factories import (
    dossier_event,
    procedure_event,
    publication_event,
    received,
    unit_event,
)
from tests.support.infra import database_url, execute_admin
from tests.support.store import step_until_idle, store

# Friday 20/11/2026, 10:00 in Hà Nội; the week 2026-W47 ends on Monday 23/11 at 00:00.
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
WEEK = "2026-W47"
WEEK_END = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
FIXED_AT = NOW - timedelta(minutes=1)
NO_TOPICS = SimpleNamespace(dossier="d", catalog="c", dead_letter="x")
EARLIER = NOW - 30 * DAY
WITHIN_HOURS = 4  # Friday 10:00 + 4 working hours: 16:00 the same day

P1 = {"unit_codes": ["SO-A"], "online_service": "FULL", "has_fee": True}
P2 = {"unit_codes": ["SO-A"], "paper_result_required": True}
P3 = {"unit_codes": ["SO-A"]}


def _dossier(code: str, received_at: datetime, due_in: timedelta, **fields: Any) -> dict:
    fields.setdefault("unit_code", "SO-A")
    fields.setdefault("procedure_code", "P1")
    fields.setdefault("synced_to_national_portal", True)
    fields.setdefault("paper_result_required", False)
    return received(code, received_at, due_in=due_in, **fields)


def _done(code: str, at: datetime, unit: str = "SO-A") -> dict:
    return dossier_event(code, "COMPLETED", at, unit_code=unit)


def _update(code: str, **fields: Any) -> dict:
    event = dossier_event(code, "IN_PROGRESS", FIXED_AT, unit_code="SO-A", **fields)
    del event["status"]
    event["type"] = "DOSSIER_UPDATE"
    return event


RECEIVED = NOW - 3 * DAY  # Tuesday 17/11, 10:00
BASE: list[dict] = [
    unit_event("SO-A", "Sở A", "DEPARTMENT", EARLIER),
    unit_event("SO-B", "Sở B", "DEPARTMENT", EARLIER),
    unit_event("XA-1", "Xã 1", "COMMUNE", EARLIER, e_certified_copy=False),
    unit_event("XA-2", "Xã 2", "COMMUNE", EARLIER, e_certified_copy=True),
    procedure_event("P1", EARLIER, **P1),
    procedure_event("P2", EARLIER, **P2),
    procedure_event("P3", EARLIER, **P3),
    procedure_event("PB", EARLIER, unit_codes=["SO-B"], online_service="FULL"),
    procedure_event("PX", EARLIER, levels=["COMMUNE"]),
    publication_event(
        "P1", EARLIER, date(2026, 10, 1), date(2026, 10, 20), published_at=date(2026, 10, 2),
        components_complete=False,
    ),
    # Finished on time: A1 online, not synced, its fee paid at the desk; A7 paid online.
    _dossier("A1", RECEIVED, DAY, synced_to_national_portal=False, fee_required=True,
             paid_online=False),
    _done("A1", RECEIVED + 2 * HOUR),
    _dossier("A7", RECEIVED, DAY, fee_required=True, paid_online=True),
    _done("A7", RECEIVED + 3 * HOUR),
    # A2: at the desk, a procedure whose result is on paper, no electronic result.
    _dossier("A2", RECEIVED, DAY, procedure_code="P2", channel="DIRECT",
             paper_result_required=True),
    _done("A2", RECEIVED + 4 * HOUR),
    # In progress: A3 due at 14:00 today (due soon), A5 on Saturday (late by the week's end
    # if it stalls), A4 next Wednesday (on time either way), A6 already late.
    _dossier("A3", RECEIVED, 3 * DAY + 4 * HOUR),
    _dossier("A5", RECEIVED, 4 * DAY + 2 * HOUR, channel="DIRECT"),
    _dossier("A4", RECEIVED, 8 * DAY),
    _dossier("A6", NOW - 4 * DAY, 3 * DAY, procedure_code="P2", channel="DIRECT",
             paper_result_required=True),
    # Another department, for the province's pool.
    _dossier("B1", RECEIVED, DAY, unit_code="SO-B", procedure_code="PB"),
    _done("B1", RECEIVED + HOUR, unit="SO-B"),
    _dossier("B2", RECEIVED, 8 * DAY, unit_code="SO-B", procedure_code="PB", channel="DIRECT",
             synced_to_national_portal=False),
]  # fmt: skip

# Each fix as the events that make it, for the unit SO-A.
FIXES: dict[str, list[dict]] = {
    "not_synced": [_update("A1", synced_to_national_portal=True)],
    "no_e_result": [_update(code, e_result_issued=True) for code in ("A2", "A6")],
    "not_paid_online": [_update("A1", paid_online=True)],
    "no_data_reuse": [
        _update(code, reused_data=True) for code in ("A1", "A2", "A3", "A4", "A5", "A6", "A7")
    ],
    "no_online_service": [
        procedure_event("P2", FIXED_AT, **{**P2, "online_service": "PARTIAL"}),
        procedure_event("P3", FIXED_AT, **{**P3, "online_service": "PARTIAL"}),
    ],
    "components_not_disclosed": [
        publication_event(
            "P1",
            FIXED_AT,
            date(2026, 10, 1),
            date(2026, 10, 20),
            published_at=date(2026, 10, 2),
            components_complete=True,
        )
    ],
    "no_e_certified_copy": [unit_event("XA-1", "Xã 1", "COMMUNE", FIXED_AT, e_certified_copy=True)],
}

Scored = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
async def scored(postgres_admin_url: str, template_database: str) -> AsyncIterator[Scored]:
    """Events → a database of their own → the scoring service → the api: SO-A's guidance and
    the week's totals of SO-A and the province, as the api serves them at `now`."""
    names: list[str] = []

    async def run(events: list[dict], now: datetime, unit: str = "SO-A") -> dict[str, Any]:
        name = f"chiso766_guidance_{uuid.uuid4().hex[:12]}"
        names.append(name)
        await execute_admin(
            postgres_admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'
        )
        url = database_url(postgres_admin_url, name)
        clock = ManualClock(now)
        await store(url, events)
        await step_until_idle(url, clock)
        async with harness.api_client(url, "unused:9092", NO_TOPICS, clock) as api:
            params = {"period": WEEK}
            guidance = await api.get(
                f"/units/{unit}/guidance", params={**params, "within_hours": WITHIN_HOURS}
            )
            assert guidance.status_code == 200, guidance.text
            detail = (await api.get(f"/units/{unit}", params=params)).json()
            province = (await api.get(f"/units/{harness.PROVINCE}", params=params)).json()
            due_soon = await api.get(
                f"/units/{unit}/due-soon", params={"within_hours": WITHIN_HOURS}
            )
            return {
                "guidance": guidance.json(),
                "etag": guidance.headers["etag"],
                "unit": detail,
                "province": province,
                "due_soon": due_soon.json(),
            }

    yield run
    for name in names:
        await execute_admin(postgres_admin_url, f'DROP DATABASE "{name}" WITH (FORCE)')


def _fix(guidance: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [f for i in guidance["indicators"] for f in i["fixes"] if f["kind"] == kind]
    assert len(found) == 1, (kind, found)
    return found[0]


def _indicator(body: dict[str, Any], indicator: str) -> dict[str, Any]:
    return next(i for i in body["indicators"] if i["id"] == indicator)


async def test_each_fix_gains_what_scoring_the_fixed_events_gives(scored: Scored) -> None:
    base = await scored(BASE, NOW)
    guidance = base["guidance"]
    assert guidance["total"] == base["unit"]["total"]
    assert guidance["province_total"] == base["province"]["total"]
    for kind, events in FIXES.items():
        fix = _fix(guidance, kind)
        assert fix["can_change"]
        fixed = await scored([*BASE, *events], NOW)
        unit_gain = round(fixed["unit"]["total"] - base["unit"]["total"], 2)
        province_gain = round(fixed["province"]["total"] - base["province"]["total"], 2)
        assert (fix["unit_gain"], fix["province_gain"]) == (unit_gain, province_gain), kind
        assert fix["unit_gain"] != 0, kind  # every fix here is worth something
    # The fixes as the unit reads them: how many things, and where they are listed.
    synced = _fix(guidance, "not_synced")
    assert synced["count"] == 1
    assert synced["items"] == f"/units/SO-A/indicators/1.4/dossiers?period={WEEK}&part=shortfall"
    assert _fix(guidance, "no_e_result")["count"] == 2
    assert _fix(guidance, "no_e_result")["may_also_change"] == ["3.3", "4.2"]
    online = _fix(guidance, "no_online_service")
    assert online["count"] == 2
    assert online["items"] == f"/units/SO-A/indicators/3.1/catalogue?period={WEEK}&part=shortfall"


async def test_an_act_that_moves_two_indicators_is_counted_where_the_counts_tell(
    scored: Scored,
) -> None:
    """C1's fee, the only one of P4 this week, was paid at the desk. Paying it online moves 3.6
    and 3.5b: the catalogue's fix (P4 has fee-bearing dossiers, none paid online) counts both,
    exactly; the count's fix (3.6) cannot know C1 is P4's only one, and names 3.5b."""
    events = [
        *BASE,
        unit_event("SO-C", "Sở C", "DEPARTMENT", EARLIER),
        procedure_event("P4", EARLIER, unit_codes=["SO-C"], online_service="FULL", has_fee=True),
        _dossier("C1", RECEIVED, DAY, unit_code="SO-C", procedure_code="P4", fee_required=True),
        _done("C1", RECEIVED + HOUR, unit="SO-C"),
    ]
    base = await scored(events, NOW, unit="SO-C")
    paid = await scored([*events, {**_update("C1", paid_online=True), "unit_code": "SO-C"}],
                        NOW, unit="SO-C")  # fmt: skip
    unit_gain = round(paid["unit"]["total"] - base["unit"]["total"], 2)
    province_gain = round(paid["province"]["total"] - base["province"]["total"], 2)
    both = _fix(base["guidance"], "fee_paid_offline")
    assert (both["unit_gain"], both["province_gain"]) == (unit_gain, province_gain)
    assert both["may_also_change"] == []
    alone = _fix(base["guidance"], "not_paid_online")
    assert alone["may_also_change"] == ["3.5b"]
    assert 0 < alone["unit_gain"] < unit_gain


async def test_indicators_come_by_points_at_stake_and_settled_losses_say_so(
    scored: Scored,
) -> None:
    guidance = (await scored(BASE, NOW))["guidance"]
    stakes = [i["at_stake"] for i in guidance["indicators"]]
    assert stakes == sorted(stakes, reverse=True)
    for indicator in guidance["indicators"]:
        assert indicator["at_stake"] == round(indicator["max_points"] - indicator["points"], 2)
    assert {i["id"] for i in guidance["indicators"]} >= {"1.4", "2.1", "3.1", "4.6"}
    assert not {i["id"] for i in guidance["indicators"]} & {"2.2", "5.1"}  # display only
    overdue = _fix(guidance, "overdue")
    assert (overdue["count"], overdue["can_change"]) == (1, False)  # A6
    assert overdue["items"] == f"/units/SO-A/overdue?period={WEEK}"


async def test_due_soon_is_what_the_unit_loses_when_they_go_late(scored: Scored) -> None:
    base = await scored(BASE, NOW)
    due = _fix(base["guidance"], "due_soon")
    assert due["count"] == 1
    assert due["items"] == f"/units/SO-A/due-soon?within_hours={WITHIN_HOURS}"
    assert [i["dossier_code"] for i in base["due_soon"]["items"]] == ["A3"]
    assert base["due_soon"]["items"][0]["working_hours_left"] == 2.0  # 10:00-11:30, 13:30-14:00
    # Nobody finishes A3: at 15:00 it is late, and nothing else has changed.
    later = await scored(BASE, NOW + 5 * HOUR)
    assert round(base["unit"]["total"] - later["unit"]["total"], 2) == due["unit_gain"] > 0
    assert round(base["province"]["total"] - later["province"]["total"], 2) == due["province_gain"]


async def test_the_forecasts_are_the_scores_the_week_ends_with(scored: Scored) -> None:
    forecast = (await scored(BASE, NOW))["guidance"]["forecast"]
    assert forecast["in_progress"] == 4  # A3, A4, A5, A6
    after_the_week = WEEK_END + timedelta(minutes=1)
    # Stalled: nothing finishes. A3 and A5 go late, A4 is still within its time, A6 late: 2.1
    # counts A1, A7, A2 and A4 on time of 7: 20 × 4/7 = 11.43.
    stalled = await scored(BASE, after_the_week)
    assert forecast["stalled"]["unit_total"] == stalled["unit"]["total"]
    assert forecast["stalled"]["province_total"] == stalled["province"]["total"]
    on_time = {i["id"]: i for i in forecast["stalled"]["indicators"]}
    assert (on_time["2.1"]["numerator"], on_time["2.1"]["denominator"]) == (4, 7)
    assert on_time["2.1"]["points"] == 11.43
    assert _indicator(stalled["unit"], "2.1")["points"] == 11.43
    # On time: each finishes at its due time (A4 after the week), A6 now, late: 6 of 7 on time,
    # 20 × 6/7 = 17.14; 5.4 (full at 90 %): 6 × (6/7) / 0.9 = 5.71.
    finishing = [
        _done("A3", RECEIVED + 3 * DAY + 4 * HOUR),
        _done("A5", RECEIVED + 4 * DAY + 2 * HOUR),
        _done("A4", RECEIVED + 8 * DAY),
        _done("A6", NOW),
    ]
    finished = await scored([*BASE, *finishing], after_the_week)
    assert forecast["on_time"]["unit_total"] == finished["unit"]["total"]
    assert forecast["on_time"]["province_total"] == finished["province"]["total"]
    best = {i["id"]: i for i in forecast["on_time"]["indicators"]}
    assert (best["2.1"]["numerator"], best["2.1"]["points"]) == (6, 17.14)
    assert best["5.4"]["points"] == 5.71


async def test_guidance_is_cached_per_etag_and_bad_input_is_a_4xx(db_url: str) -> None:
    clock = ManualClock(NOW)
    await store(db_url, BASE)
    await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as api:
        first = await api.get("/units/SO-A/guidance", params={"period": WEEK})
        again = await api.get(
            "/units/SO-A/guidance",
            params={"period": WEEK},
            headers={"If-None-Match": first.headers["etag"]},
        )
        assert again.status_code == 304
        province = await api.get(f"/units/{harness.PROVINCE}/guidance", params={"period": WEEK})
        assert province.status_code == 200
        assert province.json()["total"] == province.json()["province_total"]
        for path, params, status in [
            ("/units/NOPE/guidance", {}, 404),
            ("/units/SO-A/guidance", {"within_hours": 0}, 422),
            ("/units/SO-A/guidance", {"period": "2026-W99"}, 422),
            ("/units/SO-A/due-soon", {"after": "yesterday"}, 422),
            ("/units/SO-A/due-soon", {"limit": 0}, 422),
        ]:
            response = await api.get(path, params=params)
            assert response.status_code == status, (path, params, response.text)
            assert response.json()["detail"]
