"""What the services write to their logs: one JSON object per line, and never a secret (API key,
webhook secret) nor an applicant's identity, whatever the input carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from services.api import keys
from services.api.auth import Scope
from shared.kafka import ensure_topics
from tests.shared.test_national_sync import ITEM
from tests.support import harness
from tests.support.cluster import Cluster
from tests.support.factories import received

CITIZEN_ID = "038099001234"  # a CCCD number
PHONE = "0912345678"
EMAIL = "nguyen.van.a@example.vn"
APPLICANT = "Nguyễn Văn A"


@pytest.mark.slow
async def test_logs_are_json_and_hold_no_secret_and_no_applicant(
    db_url: str, broker: str, topics: Any, cluster: Cluster
) -> None:
    await ensure_topics(
        broker, [topics.dossier, topics.catalog, topics.feedback, topics.dead_letter]
    )
    key = await keys.create(db_url, "ioc", [Scope.WEBHOOKS, Scope.READ])
    now = datetime.now(UTC)
    cluster.env["LOG_LEVEL"] = "DEBUG"
    cluster.start("ingest")
    cluster.start("api")
    api = f"http://127.0.0.1:{cluster.env['API_PORT']}"
    national = {
        **ITEM,
        "MaHoSo": "000.00.19.H01-261116-0901",
        "ChuHoSo": APPLICANT,
        "SoGiayToChuHoSo": CITIZEN_ID,
        "SoDienThoaiChuHoSo": PHONE,
        "EmailChuHoSo": EMAIL,
    }
    with_applicant = {
        **received("H19-LOG-2", now - timedelta(hours=1)),
        "applicant_id": CITIZEN_ID,
        "applicant_phone": PHONE,
    }
    await harness.produce(
        broker,
        topics.dossier,
        [national, with_applicant, orjson.dumps({"event_id": EMAIL, "schema_version": 1})],
    )

    async with httpx.AsyncClient(base_url=api, timeout=10) as client:

        async def up() -> bool:
            try:
                return (await client.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await harness.eventually(up, within=30)
        created = await client.post(
            "/webhooks", json={"url": "https://ioc.example/hook"}, headers={"X-API-Key": key}
        )
        assert created.status_code == 201
        secret = created.json()["secret"]
        assert (await client.get("/webhooks", headers={"X-API-Key": key})).status_code == 200
        wrong = key[:-4] + "abcd"
        assert (await client.get("/webhooks", headers={"X-API-Key": wrong})).status_code == 401

        async def letters() -> bool:
            pipeline = (await client.get("/pipeline")).json()
            return any(t["dead_lettered"] == 2 for t in pipeline["ingest"])

        await harness.eventually(letters, within=30)
    cluster.stop_all()

    text = cluster.log_text()
    lines = [line for line in text.splitlines() if line.strip()]
    assert any("ingest.dead_letter" in line for line in lines)
    assert any("GET /webhooks" in line for line in lines)  # the access log is there too
    for line in lines:
        assert isinstance(orjson.loads(line), dict), line
    for needle in (key, key.rsplit("_", 1)[1], wrong, secret, CITIZEN_ID, PHONE, EMAIL, APPLICANT):
        assert needle not in text, f"{needle!r} found in the logs"
