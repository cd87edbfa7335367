"""The api over scored data: rankings, unit detail, overdue dossiers, errors, conditional polls."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from shared.clock import ManualClock
from tests.support import harness
from tests.support.factories import dossier_event, feedback_event, received, unit_event
from tests.support.store import step_until_idle, store

# Friday 20/11/2026 10:00 in Hà Nội.
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)
NO_TOPICS = SimpleNamespace(dossier="d", catalog="c", dead_letter="x")


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    clock = ManualClock(NOW)
    earlier = NOW - 30 * DAY
    await store(
        db_url,
        [
            unit_event("SO-A", "Sở A", "DEPARTMENT", earlier),
            unit_event("SO-B", "Sở B", "DEPARTMENT", earlier),
            unit_event("SO-C", "Sở C", "DEPARTMENT", earlier),
            unit_event("XA-A", "Xã A", "COMMUNE", earlier),
            # SO-A: two on time. SO-B: one on time, one overdue. SO-C: like SO-A (a tie).
            *_finished("A", "SO-A", late=(False, False)),
            *_finished("B", "SO-B", late=(False, True)),
            *_finished("C", "SO-C", late=(False, False)),
            # XA-A: three dossiers in progress past their due dates.
            received("X1", NOW - 4 * DAY, unit_code="XA-A", due_in=DAY),
            received("X2", NOW - 4 * DAY, unit_code="XA-A", due_in=2 * DAY),
            received("X3", NOW - 4 * DAY, unit_code="XA-A", due_in=3 * DAY),
        ],
    )
    await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as api:
        yield api


def _finished(prefix: str, unit: str, late: tuple[bool, ...]) -> list[dict]:
    events = []
    for index, is_late in enumerate(late):
        code = f"{prefix}{index}"
        events.append(received(code, NOW - 3 * DAY, unit_code=unit, due_in=DAY))
        finished = NOW - DAY if is_late else NOW - 2.5 * DAY
        events.append(dossier_event(code, "COMPLETED", finished, unit_code=unit))
    return events


async def test_rankings_sort_by_total_and_share_ranks_on_ties(client: httpx.AsyncClient) -> None:
    response = await client.get("/rankings", params={"level": "department", "period": "week"})
    assert response.status_code == 200
    body = response.json()
    assert body["period"]["key"] == "2026-W47"
    assert [(i["rank"], i["unit"]["code"]) for i in body["items"]] == [
        (1, "SO-A"),
        (1, "SO-C"),
        (3, "SO-B"),
    ]
    assert body["items"][0]["groups"]["TDGQ"] == 20.0
    assert body["items"][2]["groups"]["TDGQ"] == 10.0
    communes = (await client.get("/rankings", params={"level": "commune", "period": "week"})).json()
    assert [i["unit"]["code"] for i in communes["items"]] == ["XA-A"]


async def test_unit_detail_lists_every_indicator_and_the_province_pools_counts(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/units/SO-B", params={"period": "2026-W47"})).json()
    assert len(body["indicators"]) == 23
    ontime = next(i for i in body["indicators"] if i["id"] == "2.1")
    assert ontime == {
        "id": "2.1",
        "group": "TDGQ",
        "title": "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn",
        "numerator": 1,
        "denominator": 2,
        "rate": 50.0,
        "points": 10.0,
        "max_points": 20.0,
        "scored": True,
        "dossiers": "/units/SO-B/indicators/2.1/dossiers?period=2026-W47",
        "catalogue": None,
        "feedback": None,
    }
    assert body["total"] == pytest.approx(sum(g["points"] for g in body["groups"]))
    province = (await client.get("/units/19", params={"period": "2026-W47"})).json()
    pooled = next(i for i in province["indicators"] if i["id"] == "2.1")
    # 2 + 1 + 2 on time of 6 finished, 0 of 3 in progress past due: pooled, not averaged.
    assert (pooled["numerator"], pooled["denominator"]) == (5, 9)
    assert province["unit"]["level"] == "PROVINCE"


async def test_overdue_dossiers_are_paginated_most_overdue_first(client: httpx.AsyncClient) -> None:
    first = (await client.get("/units/XA-A/overdue", params={"page_size": 2})).json()
    assert first["total"] == 3
    assert [i["dossier_code"] for i in first["items"]] == ["X1", "X2"]
    assert first["items"][0]["overdue_by"] == 3 * 86_400
    assert first["items"][0]["outcome"] == "IN_PROGRESS_OVERDUE"
    second = (await client.get("/units/XA-A/overdue", params={"page_size": 2, "page": 2})).json()
    assert [i["dossier_code"] for i in second["items"]] == ["X3"]
    none = (await client.get("/units/SO-A/overdue")).json()
    assert (none["total"], none["items"]) == (0, [])


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/units/NOPE", {}, 404, "unknown unit 'NOPE'"),
        ("/units/NOPE/overdue", {}, 404, "unknown unit 'NOPE'"),
        ("/units/SO-A", {"period": "2026-W99"}, 422, "is not a valid week"),
        ("/rankings", {"period": "yesterday"}, 422, "is not a period"),
        ("/rankings", {"level": "village"}, 422, "department"),
        ("/units/XA-A/overdue", {"page_size": 10_000}, 422, "less than or equal to 500"),
        ("/units/XA-A/overdue", {"page": 0}, 422, "greater than or equal to 1"),
    ],
)
async def test_bad_requests_get_a_4xx_with_a_message(
    client: httpx.AsyncClient, path: str, params: dict, status: int, message: str
) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == status
    assert message in str(response.json()["detail"])


async def test_a_poll_with_the_etag_gets_304(client: httpx.AsyncClient) -> None:
    first = await client.get("/units/SO-A", params={"period": "week"})
    assert first.headers["cache-control"] == "no-cache"
    again = await client.get(
        "/units/SO-A", params={"period": "week"}, headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    other_unit = await client.get(
        "/units/SO-B", params={"period": "week"}, headers={"If-None-Match": first.headers["etag"]}
    )
    assert other_unit.status_code == 200


async def test_methodology_health_and_pipeline(client: httpx.AsyncClient) -> None:
    methodology = (await client.get("/methodology")).json()
    assert sum(float(g["max_points"]) for g in methodology["groups"]) == 100
    assert len(methodology["indicators"]) == 23
    assert (await client.get("/health")).json() == {"status": "ok", "database": "ok"}
    pipeline = (await client.get("/pipeline")).json()
    assert (pipeline["events_scored"], pipeline["scoring_lag_events"]) == (19, 0)
    assert pipeline["units_not_in_catalogue"] == []


async def test_a_unit_unknown_to_the_catalogue_is_counted_and_ranked_once_described(
    db_url: str,
) -> None:
    """The policy for unknown units: their dossiers are kept and counted (the catalogue event
    may simply come later, on another topic); the province's total includes them; the unit
    enters its level's ranking, with its whole history, once a catalogue event names it."""
    clock = ManualClock(NOW)
    await store(
        db_url,
        [
            unit_event("SO-A", "Sở A", "DEPARTMENT", NOW - 30 * DAY),
            received("K1", NOW - 2 * DAY, unit_code="SO-A", due_in=4 * DAY),
            received("N1", NOW - 2 * DAY, unit_code="SO-MOI", due_in=4 * DAY),
        ],
    )
    await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as api:
        pipeline = (await api.get("/pipeline")).json()
        assert pipeline["units_not_in_catalogue"] == ["SO-MOI"]
        ranked = (await api.get("/rankings", params={"level": "department"})).json()
        assert [i["unit"]["code"] for i in ranked["items"]] == ["SO-A"]
        province = (await api.get("/units/19", params={"period": "week"})).json()
        ontime = next(i for i in province["indicators"] if i["id"] == "2.1")
        assert ontime["denominator"] == 2  # both dossiers, the unknown unit's too

        await store(db_url, [unit_event("SO-MOI", "Sở Mới", "DEPARTMENT", NOW - DAY)])
        clock.advance(timedelta(minutes=1))
        await step_until_idle(db_url, clock)
        await api.heard_scoring()
        assert (await api.get("/pipeline")).json()["units_not_in_catalogue"] == []
        ranked = (await api.get("/rankings", params={"level": "department"})).json()
        assert {i["unit"]["code"] for i in ranked["items"]} == {"SO-A", "SO-MOI"}
        detail = (await api.get("/units/SO-MOI", params={"period": "week"})).json()
        ontime = next(i for i in detail["indicators"] if i["id"] == "2.1")
        assert ontime["denominator"] == 1


async def test_week_over_week_change_and_restatement_of_a_closed_week(db_url: str) -> None:
    clock = ManualClock(NOW)  # Friday of week 47
    week_46 = NOW - 7 * DAY
    await store(
        db_url,
        [
            unit_event("SO-A", "Sở A", "DEPARTMENT", week_46 - DAY),
            unit_event("SO-B", "Sở B", "DEPARTMENT", week_46 - DAY),
            # Week 46: SO-B on time, SO-A late. Week 47: the other way round.
            *_finished_at("A46", "SO-A", week_46, late=True),
            *_finished_at("B46", "SO-B", week_46, late=False),
            *_finished_at("A47", "SO-A", NOW - 2 * DAY, late=False),
            *_finished_at("B47", "SO-B", NOW - 2 * DAY, late=True),
        ],
    )
    await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as api:
        body = (await api.get("/rankings", params={"period": "week"})).json()
        by_code = {item["unit"]["code"]: item for item in body["items"]}
        assert by_code["SO-A"]["rank"] == 1
        assert by_code["SO-A"]["change"]["previous_period"] == "2026-W46"
        assert by_code["SO-A"]["change"]["rank"] == 1  # up one place
        assert by_code["SO-B"]["change"]["rank"] == -1
        assert by_code["SO-A"]["change"]["total"] == pytest.approx(
            by_code["SO-A"]["total"] - by_code["SO-A"]["change"]["previous_total"]
        )
        detail = (await api.get("/units/SO-A", params={"period": "2026-W47"})).json()
        assert (detail["rank"], detail["change"]["rank"]) == (1, 1)
        assert detail["period"]["restated_at"] is None

        # A late COMPLETED for SO-A's week-46 dossier arrives in week 47: week 46 is restated.
        await store(
            db_url, [dossier_event("A46-0", "COMPLETED", week_46 + DAY / 2, unit_code="SO-A")]
        )
        clock.advance(timedelta(minutes=5))
        await step_until_idle(db_url, clock)
        await api.heard_scoring()
        restated = (await api.get("/units/SO-A", params={"period": "2026-W46"})).json()
        assert restated["period"]["restated_at"] is not None
        current = (await api.get("/units/SO-A", params={"period": "2026-W47"})).json()
        assert current["change"]["previous_total"] == restated["total"]


def _finished_at(code: str, unit: str, received_at: datetime, late: bool) -> list[dict]:
    return [
        received(f"{code}-0", received_at, unit_code=unit, due_in=DAY),
        dossier_event(
            f"{code}-0", "COMPLETED", received_at + (2 * DAY if late else DAY / 2), unit_code=unit
        ),
    ]


async def test_a_period_is_rescored_under_another_methodology_version(
    db_url: str, tmp_path: Path
) -> None:
    from shared.methodology import load_methodology

    # A province's own version: on-time weighs 16 instead of 20, sync 10 instead of 6.
    data = load_methodology().model_dump(mode="json")
    data["version"] = "province-2027"
    for group in data["groups"]:
        group["max_points"] = {"CKMB": 22, "TDGQ": 16}.get(group["code"], group["max_points"])
    for indicator in data["indicators"]:
        indicator["max_points"] = {"2.1": 16, "1.4": 10}.get(
            indicator["id"], indicator["max_points"]
        )
    (tmp_path / "province-2027.json").write_text(json.dumps(data), encoding="utf-8")

    clock = ManualClock(NOW)
    await store(
        db_url,
        [
            unit_event("SO-A", "Sở A", "DEPARTMENT", NOW - 9 * DAY),
            *_finished("A", "SO-A", (False,)),
        ],
    )
    await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "x:1", NO_TOPICS, clock, methodology_dir=tmp_path) as api:
        default = (await api.get("/units/SO-A", params={"period": "week"})).json()
        other = (
            await api.get("/units/SO-A", params={"period": "week", "methodology": "province-2027"})
        ).json()
        assert other["methodology"] == "province-2027"
        points = {i["id"]: i["points"] for i in other["indicators"]}
        assert (points["2.1"], points["1.4"]) == (16.0, 0.0)
        assert {i["id"]: i["points"] for i in default["indicators"]}["2.1"] == 20.0
        listed = (await api.get("/methodology", params={"version": "province-2027"})).json()
        assert listed["version"] == "province-2027"
        unknown = await api.get("/rankings", params={"methodology": "nope"})
        assert unknown.status_code == 422
        assert "available: province-2027, qd766-portal-2026" in unknown.json()["detail"]


async def test_every_dossier_number_lists_the_dossiers_behind_it(client: httpx.AsyncClient) -> None:
    path = "/units/SO-B/indicators/2.1/dossiers"
    denominator = (await client.get(path, params={"period": "2026-W47"})).json()
    assert denominator["total"] == 2
    assert {(i["dossier_code"], i["in_numerator"]) for i in denominator["items"]} == {
        ("B0", True),
        ("B1", False),
    }
    numerator = (await client.get(path, params={"period": "2026-W47", "part": "numerator"})).json()
    assert [i["dossier_code"] for i in numerator["items"]] == ["B0"]

    # The province's list is its units' lists pooled, and agrees with its counts.
    province = (await client.get("/units/19", params={"period": "2026-W47"})).json()
    pooled = next(i for i in province["indicators"] if i["id"] == "2.1")
    listed = (
        await client.get(pooled["dossiers"], params={"part": "numerator", "page_size": 500})
    ).json()
    everyone = (await client.get(pooled["dossiers"], params={"page_size": 500})).json()
    assert (listed["total"], everyone["total"]) == (pooled["numerator"], pooled["denominator"])

    paged = (await client.get(pooled["dossiers"], params={"page_size": 4, "page": 3})).json()
    assert (paged["total"], len(paged["items"])) == (9, 1)


async def test_catalogue_indicators_and_unknown_ids_are_refused_with_a_message(
    client: httpx.AsyncClient,
) -> None:
    catalogue = await client.get("/units/SO-A/indicators/3.1/dossiers")
    assert catalogue.status_code == 422
    assert "counted from catalog data" in catalogue.json()["detail"]
    unknown = await client.get("/units/SO-A/indicators/9.9/dossiers")
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "unknown indicator '9.9'")


async def test_feedback_indicators_list_the_feedback_behind_them(
    db_url: str, client: httpx.AsyncClient
) -> None:
    await store(
        db_url,
        [
            feedback_event(
                "F1", "RECEIVED", NOW - 5 * DAY, unit_code="SO-A", category="REGULATION"
            ),
            feedback_event("F1", "ANSWERED", NOW - 4 * DAY, unit_code="SO-A"),
            feedback_event("F1", "PUBLISHED", NOW - 3 * DAY, unit_code="SO-A", rating="SATISFIED"),
            # Received in October, never answered: still open, and late, in November.
            feedback_event("F2", "RECEIVED", NOW - 25 * DAY, unit_code="SO-A"),
        ],
    )
    await step_until_idle(db_url, ManualClock(NOW))
    detail = (await client.get("/units/SO-A", params={"period": "2026-11"})).json()
    link = next(i["feedback"] for i in detail["indicators"] if i["id"] == "5.2")
    assert link == "/units/SO-A/indicators/5.2/feedback?period=2026-11"
    on_time = (await client.get(link)).json()
    assert [(i["feedback_id"], i["in_numerator"], i["late"]) for i in on_time["items"]] == [
        ("F2", False, True),
        ("F1", True, False),
    ]
    # 5.3 counts only the feedback first received in the period.
    satisfied = (await client.get("/units/SO-A/indicators/5.3/feedback?period=2026-11")).json()
    assert [i["feedback_id"] for i in satisfied["items"]] == ["F1"]
    province = (await client.get("/units/19/indicators/5.2/feedback?period=2026-11")).json()
    assert province["total"] == 2
    wrong = await client.get("/units/SO-A/indicators/2.1/feedback")
    assert wrong.status_code == 422


async def test_a_range_of_days_scores_like_the_named_period_it_matches(
    client: httpx.AsyncClient,
) -> None:
    days = "2026-11-16..2026-11-22"  # Monday to Sunday: week 47
    for unit in ("SO-B", "XA-A", "19"):
        week = (await client.get(f"/units/{unit}", params={"period": "2026-W47"})).json()
        ranged = (await client.get(f"/units/{unit}", params={"period": days})).json()
        assert ranged["period"]["key"] == days
        assert ranged["indicators"] == [
            {**i, "dossiers": i["dossiers"] and i["dossiers"].replace("2026-W47", days)}
            | {
                "catalogue": i["catalogue"] and i["catalogue"].replace("2026-W47", days),
                "feedback": i["feedback"] and i["feedback"].replace("2026-W47", days),
            }
            for i in week["indicators"]
        ]
        assert ranged["total"] == week["total"]
    rankings = (await client.get("/rankings", params={"period": days})).json()
    assert [(i["rank"], i["unit"]["code"]) for i in rankings["items"]] == [
        (1, "SO-A"),
        (1, "SO-C"),
        (3, "SO-B"),
    ]
    # A shorter range: only Tuesday 17/11, when A0..C1 were received.
    tuesday = (await client.get("/units/SO-B", params={"period": "2026-11-17..2026-11-17"})).json()
    ontime = next(i for i in tuesday["indicators"] if i["id"] == "2.1")
    assert (ontime["numerator"], ontime["denominator"]) == (2, 2)  # B1 was not yet late then
    audit = (
        await client.get(
            "/units/SO-B/indicators/2.1/dossiers", params={"period": days, "part": "numerator"}
        )
    ).json()
    assert [i["dossier_code"] for i in audit["items"]] == ["B0"]
    bad = await client.get("/units/SO-B", params={"period": "2026-11-22..2026-11-16"})
    assert bad.status_code == 422
    assert "ends on or after" in bad.json()["detail"]


async def test_scores_kept_across_moves_are_those_of_a_fresh_start(
    client: harness.ApiClient, db_url: str
) -> None:
    """A new version re-scores only the units whose counts moved: what it keeps of the others
    must be what a process that never saw the earlier versions computes."""
    reads = [
        ("/rankings", {"period": "week", "level": level}) for level in ("department", "commune")
    ] + [("/units/19", {"period": "week"}), ("/units/SO-B", {"period": "month"})]
    for path, params in reads:
        assert (await client.get(path, params=params)).status_code == 200
    clock = client.app.state.clock
    for step, events in enumerate(
        (
            [received("B9", NOW - DAY, unit_code="SO-B", due_in=DAY / 4)],
            [dossier_event("X1", "COMPLETED", NOW - DAY / 2, unit_code="XA-A")],
            [unit_event("XA-B", "Xã B", "COMMUNE", NOW - DAY)],
        )
    ):
        await store(db_url, events)
        clock.advance(timedelta(minutes=1 + step))
        await step_until_idle(db_url, clock)
        await client.heard_scoring()
        kept = [(await client.get(path, params=params)).json() for path, params in reads]
        async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as fresh:
            assert kept == [(await fresh.get(path, params=params)).json() for path, params in reads]
