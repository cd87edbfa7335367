"""The dashboard in Debian's Chromium, against one real pipeline shared by the tests here.

One database, one set of topics and the four services as processes (ingest, scoring, alerting,
api) live for the whole package: a browser test asks for `dashboard` (a fresh browser context
on the api, which records every request and console message and fails the test if one left the
api or was an error) and reads `pipeline` for the api's address and to produce more events.
Screenshots go to `test-artifacts/browser/` (git-ignored).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserType,
    ConsoleMessage,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from shared.kafka import ensure_topics
from tests.conftest import Topics, service_env
from tests.support import harness
from tests.support.cluster import Cluster
from tests.support.factories import dossier_event, procedure_event, received, unit_event
from tests.support.infra import ROOT, database_url, execute_admin

T = TypeVar("T")
# Debian's package (.ci/run installs it); CHROMIUM names another build of the system's.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "browser"
NOW = datetime.now(UTC).replace(microsecond=0)
# Every event of the scenario a few hours old: inside today's week and month in Vietnam.
START = NOW - timedelta(hours=3)
DEPARTMENTS = {"SO-TP": "Sở Tư pháp", "SO-NV": "Sở Nội vụ", "SO-YT": "Sở Y tế"}
COMMUNES = {"XA-DH": "Xã Đồng Hỷ", "XA-PDP": "Phường Phan Đình Phùng"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is a browser test, and slow: the shared pipeline takes seconds to start."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


def in_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from a sync test: Playwright's sync API holds this thread's
    event loop, so the coroutine gets a loop of its own in another thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The catalogue and the dossiers: SO-NV and SO-YT alike (a tie), SO-TP with one dossier
    overdue, two communes."""
    catalogue = [
        *(unit_event(c, n, "DEPARTMENT", NOW - timedelta(days=60)) for c, n in DEPARTMENTS.items()),
        *(unit_event(c, n, "COMMUNE", NOW - timedelta(days=60)) for c, n in COMMUNES.items()),
        procedure_event(
            "1.001",
            NOW - timedelta(days=60),
            levels=["DEPARTMENT", "COMMUNE"],
            online_service="FULL",
        ),
    ]
    finished = START + timedelta(hours=1)
    dossiers = [
        received("TP-1", START, unit_code="SO-TP", synced_to_national_portal=True),
        dossier_event("TP-1", "COMPLETED", finished, unit_code="SO-TP", e_result_issued=True),
        received("TP-2", START, unit_code="SO-TP", due_in=timedelta(hours=1)),
        received("TP-3", START, unit_code="SO-TP", channel="IN_PERSON"),
        *(
            event
            for code in ("SO-NV", "SO-YT")
            for event in (
                received(f"{code}-1", START, unit_code=code, synced_to_national_portal=True),
                dossier_event(f"{code}-1", "COMPLETED", finished, unit_code=code),
            )
        ),
        received("DH-1", START, unit_code="XA-DH", synced_to_national_portal=True),
        dossier_event("DH-1", "COMPLETED", finished, unit_code="XA-DH", e_result_issued=True),
        received("PDP-1", START, unit_code="XA-PDP", due_in=timedelta(hours=2)),
    ]
    return catalogue, dossiers


@dataclass
class Pipeline:
    api: str
    broker: str
    topics: Topics
    cluster: Cluster

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.api}{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def produce(self, topic: str, events: list[dict[str, Any]]) -> None:
        in_thread(harness.produce(self.broker, topic, events))


def _until(probe: Any, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"not ready within {within} s")
        time.sleep(0.2)


@pytest.fixture(scope="package")
def pipeline(
    postgres_admin_url: str, template_database: str, broker: str, tmp_path_factory: Any
) -> Iterator[Pipeline]:
    name = f"chiso766_browser_{uuid.uuid4().hex[:10]}"
    in_thread(
        execute_admin(
            postgres_admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'
        )
    )
    suffix = uuid.uuid4().hex[:10]
    topics = Topics(
        f"dossier.events.{suffix}",
        f"catalog.events.{suffix}",
        f"dlq.{suffix}",
        f"feedback.events.{suffix}",
    )
    env = service_env(database_url(postgres_admin_url, name), broker, topics)
    cluster = Cluster(env, tmp_path_factory.mktemp("browser-pipeline"))
    catalogue, dossiers = scenario()
    in_thread(
        ensure_topics(broker, [topics.dossier, topics.catalog, topics.dead_letter, topics.feedback])
    )
    in_thread(harness.produce(broker, topics.catalog, catalogue))
    in_thread(harness.produce(broker, topics.dossier, dossiers))
    try:
        for service in ("ingest", "scoring", "alerting", "api"):
            cluster.start(service)
        served = Pipeline(f"http://127.0.0.1:{env['API_PORT']}", broker, topics, cluster)
        _until(lambda: _scored(served, len(dossiers)))
        yield served
    finally:
        cluster.stop_all()
        in_thread(execute_admin(postgres_admin_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


def _scored(pipeline: Pipeline, events: int) -> bool:
    try:
        state = pipeline.get("/pipeline")
        ranked = pipeline.get("/rankings", level="commune", period="month")
    except httpx.HTTPError:
        return False
    return state["events_scored"] >= events and len(ranked["items"]) == len(COMMUNES)


@dataclass
class Watched:
    """A page and what it did: every request's URL and the console's errors."""

    page: Page
    api: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def shot(self, name: str) -> Path:
        """A screenshot of the page; the dashboard's must show no value written as the script
        held it (null, undefined, NaN)."""
        main = self.page.locator("main#main")
        if main.count():
            for leaked in ("null", "undefined", "NaN", "[object"):
                expect(main).not_to_contain_text(leaked)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=path, full_page=True)
        return path

    def foreign(self) -> list[str]:
        """Requests that left the api (data: and blob: URLs never leave the page)."""
        origin = urlsplit(self.api).netloc
        return [
            url
            for url in self.requests
            if not url.startswith(("data:", "blob:")) and urlsplit(url).netloc != origin
        ]


# pytest-playwright's playwright, browser type and browser, for this package only: Playwright's
# sync API holds the main thread's event loop while it runs, and the asyncio tests after this
# package need it back.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="package")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    kind: BrowserType = getattr(playwright, browser_name)
    return kind


@pytest.fixture(scope="package")
def browser(
    browser_type: BrowserType, browser_type_launch_args: dict[str, Any]
) -> Iterator[Browser]:
    launched = browser_type.launch(**browser_type_launch_args)
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch, on the system's Chromium: never a downloaded build."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (as .ci/run does)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


def settles(page: Page, probe: Callable[[], bool], within: float = 20) -> None:
    """Let the page work until `probe()` holds (what the page does, not how fast: a bound only
    so that a broken page fails instead of hanging)."""
    deadline = time.monotonic() + within
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"not so within {within} s")
        page.wait_for_timeout(100)


@contextlib.contextmanager
def watch(browser: Browser, api: str, **context: Any) -> Iterator[Watched]:
    opened = browser.new_context(
        base_url=api, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", **context
    )
    page = opened.new_page()
    watched = Watched(page, api)
    page.on("request", lambda request: watched.requests.append(request.url))

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.errors.append(f"{message.text} @ {message.location}")

    page.on("console", console)
    page.on("pageerror", lambda error: watched.errors.append(f"uncaught: {error}"))
    try:
        yield watched
    finally:
        opened.close()


@pytest.fixture
def dashboard(pipeline: Pipeline, browser: Browser) -> Iterator[Watched]:
    """A 1280×900 page on the api; after the test, no request left it and nothing went wrong.
    (`pipeline` first: the session's database and broker are set up before Playwright starts.)"""
    with checked(browser, pipeline.api, viewport={"width": 1280, "height": 900}) as watched:
        yield watched


@contextlib.contextmanager
def checked(browser: Browser, api: str, **context: Any) -> Iterator[Watched]:
    """`watch`, then the page's conduct checked: it asked for something, only of the api, and
    its console had no error."""
    with watch(browser, api, **context) as watched:
        yield watched
        assert watched.requests, "the page made no request at all"
        assert watched.foreign() == [], "requests left the api"
        assert watched.errors == [], "console errors"
