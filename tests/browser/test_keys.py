"""A deployment that keys its reads (API_READ_KEY_REQUIRED): the dashboard asks the person at the
screen for a key once, sends it with every read, follows the alerts by polling (an EventSource
cannot send a header) and downloads files with it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from playwright.sync_api import Browser, Request, expect

from services.devstack.stack import free_port
from tests.browser.conftest import NOW, Pipeline, settles, watch
from tests.browser.numbers import vn
from tests.support.factories import received
from tests.support.harness import PROVINCE
from tests.support.infra import ROOT


@dataclass(frozen=True)
class KeyedApi:
    api: str
    key: str

    def get(self, path: str, **params: str) -> Any:
        response = httpx.get(
            f"{self.api}{path}", params=params, headers={"X-API-Key": self.key}, timeout=10
        )
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="module")
def keyed(pipeline: Pipeline) -> Iterator[KeyedApi]:
    """A second api on the pipeline's database, keying its reads, and a key with `read`."""
    port = free_port()
    made = subprocess.run(
        [sys.executable, "-m", "services.api.keys", "create", "IOC wall", "--scope", "read"],
        env={**os.environ, **pipeline.cluster.env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    pipeline.cluster.start("api-keyed", API_READ_KEY_REQUIRED="true", API_PORT=str(port))
    served = KeyedApi(f"http://127.0.0.1:{port}", made.stdout.strip())
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{served.api}/rankings", timeout=5).status_code == 401:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the keyed api did not start")
        time.sleep(0.2)
    try:
        yield served
    finally:
        pipeline.cluster.stop("api-keyed")


def test_the_dashboard_asks_for_a_key_once_and_then_reads_polls_and_downloads_with_it(
    keyed: KeyedApi, pipeline: Pipeline, browser: Browser, tmp_path: Path
) -> None:
    with watch(browser, keyed.api, viewport={"width": 1280, "height": 900}) as watched:
        page = watched.page
        sent: list[Request] = []
        page.on("request", lambda request: sent.append(request))
        page.goto("/?refresh=1#/")
        dialog = page.get_by_role("dialog", name="Khóa API")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Máy chủ yêu cầu khóa API")
        # However many reads were refused, one dialog; and no stale banner (the api answers).
        expect(page.locator("dialog")).to_have_count(1)
        expect(page.locator("#stale")).to_be_hidden()
        watched.shot("keyed-dialog")

        dialog.get_by_label("Khóa API").fill(keyed.key)
        dialog.get_by_label("Ghi nhớ trên máy này").check()
        dialog.get_by_role("button", name="Dùng khóa").click()
        # The page starts again with the key: the province's numbers, as the api says them.
        detail = keyed.get(f"/units/{PROVINCE}", period="month")
        expect(page.locator('[data-field="total"]')).to_have_text(vn(detail["total"]))
        expect(page.locator("dialog")).to_have_count(0)
        watched.errors.clear()
        sent.clear()

        # The alerts, polled: a dossier overdue now reaches the live list without a reload.
        pipeline.produce(
            pipeline.topics.dossier,
            [
                received(
                    "TP-KEY", NOW - timedelta(hours=2), unit_code="SO-TP", due_in=timedelta(hours=1)
                )
            ],
        )
        expect(page.locator("#live")).to_have_attribute("data-state", "open")
        expect(page.locator("section.alerts")).to_contain_text("TP-KEY", timeout=30_000)

        # A file, fetched with the key.
        page.goto("/#/rankings?level=department&period=month")
        with page.expect_download() as started:
            page.locator('a[data-format="xlsx"]').first.click()
        saved = tmp_path / started.value.suggested_filename
        started.value.save_as(saved)
        assert saved.suffix == ".xlsx"
        sheet = openpyxl.load_workbook(saved, read_only=True).active
        assert sheet is not None
        cells = {str(c) for row in sheet.iter_rows(values_only=True) for c in row if c}
        assert {"Sở Tư pháp", "Sở Nội vụ", "Sở Y tế"} <= cells

        reads = [
            r for r in sent if "/ui/" not in r.url and r.resource_type in ("fetch", "eventsource")
        ]
        assert reads, "the page read nothing after the key"
        assert all(
            r.headers.get("x-api-key") == keyed.key for r in reads if r.resource_type == "fetch"
        )
        assert not [r for r in reads if "/alerts/stream" in r.url], (
            "an EventSource cannot send the key"
        )
        assert watched.errors == [], "console errors once the key was given"
        assert watched.foreign() == []
        watched.shot("keyed-rankings")

        # Remembered on this machine: a new tab of the same browser needs no dialog.
        again = page.context.new_page()
        again.goto("/#/")
        settles(again, lambda: again.locator('[data-field="total"]').count() > 0)
        expect(again.locator("dialog")).to_have_count(0)
