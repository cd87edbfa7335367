"""Operators list the dead letters and replay the ones whose cause has gone away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.api import keys
from services.api.auth import Scope
from shared.clock import ManualClock
from shared.kafka import ensure_topics
from tests.services.ingest.test_service import counts, scalar
from tests.support import harness
from tests.support.factories import received


@pytest.mark.slow
async def test_a_record_refused_for_a_passing_reason_is_replayed_and_counted_once(
    db_url: str, broker: str, topics
) -> None:
    clock = ManualClock(datetime.now(UTC))
    operator = await keys.create(db_url, "ops", [Scope.DEAD_LETTERS])
    reader = await keys.create(db_url, "dashboard", [Scope.READ])
    # The sender's clock runs two hours ahead: "in the future" for us, until it is not.
    ahead = received("H19-FUTURE-1", clock.now() + timedelta(hours=2))
    await ensure_topics(broker, [topics.dossier, topics.catalog, topics.dead_letter])
    await harness.produce(broker, topics.dossier, [ahead, b"{broken"])
    async with (
        harness.running(harness.ingest(db_url, broker, topics, clock)),
        harness.api_client(db_url, broker, topics) as api,
    ):

        async def refused() -> bool:
            return await scalar(db_url, "SELECT count(*) FROM dead_letters") == 2

        await harness.eventually(refused)
        auth = {"X-API-Key": operator}
        assert (await api.get("/admin/dead-letters")).status_code == 401
        forbidden = await api.get("/admin/dead-letters", headers={"X-API-Key": reader})
        assert forbidden.status_code == 403
        page = (
            await api.get("/admin/dead-letters", params={"reason": "in the future"}, headers=auth)
        ).json()
        assert len(page["items"]) == 1
        letter = page["items"][0]
        assert letter["event_id"] == ahead["event_id"]
        assert "value" not in letter  # the record itself is never shown
        huge = await api.post("/admin/dead-letters/replay", json={"ids": [2**64]}, headers=auth)
        assert huge.status_code == 422
        unknown = await api.post(
            "/admin/dead-letters/replay", json={"ids": [letter["id"], 999]}, headers=auth
        )
        assert unknown.status_code == 404

        clock.advance(timedelta(hours=3))
        replayed = await api.post(
            "/admin/dead-letters/replay", json={"ids": [letter["id"]]}, headers=auth
        )
        assert replayed.status_code == 200
        assert replayed.json() == {"replayed": 1, "topics": {topics.dossier: 1}}

        async def stored() -> bool:
            return await scalar(db_url, "SELECT count(*) FROM events") == 1

        await harness.eventually(stored)
        # Replayed twice by mistake: the second is a duplicate, never a second dossier.
        again = await api.post(
            "/admin/dead-letters/replay", json={"ids": [letter["id"]]}, headers=auth
        )
        assert again.status_code == 200

        async def absorbed() -> bool:
            return (await counts(db_url))[topics.dossier] == (4, 1, 2, 1)

        await harness.eventually(absorbed)
        after = (await api.get("/admin/dead-letters", headers=auth)).json()["items"]
    replays = {item["id"]: item["replays"] for item in after}
    assert replays.pop(letter["id"]) == 2
    assert list(replays.values()) == [0]  # the broken record was never replayed
    assert await scalar(db_url, "SELECT count(*) FROM events") == 1
