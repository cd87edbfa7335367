"""/docs works on a closed network: every asset comes from the api itself."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import Pipeline, Watched


def test_swagger_ui_renders_every_operation_from_the_api_alone(
    dashboard: Watched, pipeline: Pipeline
) -> None:
    document = pipeline.get("/openapi.json")
    operations = sum(len(methods) for methods in document["paths"].values())
    page = dashboard.page
    page.goto("/docs")
    expect(page.locator(".opblock")).to_have_count(operations)
    expect(page.locator(".info .title")).to_contain_text("Chỉ số 766 API")
    dashboard.shot("docs")
    assert any(url.endswith("/docs-assets/swagger-ui-bundle.js") for url in dashboard.requests)
