"""The api fuzzed from its own OpenAPI document with schemathesis: no input gets a 5xx."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.api import keys
from services.api.auth import Scope
from shared.clock import ManualClock
from tests.support import harness
from tests.support.cluster import Cluster
from tests.support.factories import (
    dossier_event,
    feedback_event,
    procedure_event,
    received,
    unit_event,
)
from tests.support.store import step_until_idle, store

EXAMPLES = os.environ.get("SCHEMATHESIS_EXAMPLES", "40")
# Fixed, so that CI reruns what passed here; `make soak` draws a new one each time.
SEED = os.environ.get("SCHEMATHESIS_SEED", "766")
NOW = datetime.now(UTC).replace(microsecond=0)


async def seed(db_url: str) -> None:
    """A few units, procedures, dossiers and feedback, so that reads go past 404."""
    day = NOW - timedelta(days=2)
    await store(
        db_url,
        [
            unit_event("SO-TP", "Sở Tư pháp", "DEPARTMENT", day - timedelta(days=30)),
            unit_event("XA-1", "Xã Một", "COMMUNE", day - timedelta(days=30)),
            procedure_event("1.004227", day - timedelta(days=30), online_service="FULL"),
            received("D1", day),
            dossier_event("D1", "COMPLETED", day + timedelta(hours=5)),
            received("D2", day - timedelta(days=10), due_in=timedelta(days=1)),
            feedback_event("F1", "RECEIVED", day),
        ],
    )
    await step_until_idle(db_url, ManualClock(NOW))


async def test_no_request_generated_from_the_openapi_document_gets_a_5xx(
    db_url: str, cluster: Cluster, tmp_path: Path
) -> None:
    await seed(db_url)
    key = await keys.create(db_url, "fuzz", list(Scope))
    cluster.start("api")
    api = f"http://127.0.0.1:{cluster.env['API_PORT']}"

    async def ready() -> bool:
        async with httpx.AsyncClient() as client:
            try:
                return (await client.get(f"{api}/readyz")).status_code == 200
            except httpx.TransportError:
                return False

    await harness.eventually(ready, within=30)
    found = await schemathesis(api, ["-H", f"X-API-Key: {key}"])
    print(f"\nschemathesis: {found['cases']} cases, no 5xx")


async def schemathesis(api: str, extra: list[str]) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{api}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        EXAMPLES,
        "--seed",
        SEED,
        "--generation-deterministic",
        "--workers",
        "1",
        "--request-timeout",
        "20",
        # A stream never ends by itself: its own tests cover it.
        "--exclude-path",
        "/alerts/stream",
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    cases = re.search(r"(\d+) generated", text)
    return {"output": text[-3000:], "cases": int(cases.group(1)) if cases else None}
