"""Security headers: pages run only their own scripts, cannot be framed and load nothing from
elsewhere (``/docs`` included); every answer says nosniff and no-referrer."""

from __future__ import annotations

import re

import pytest
from bokeh.models import Div

from tests.viz.conftest import Api
from viz.api.headers import inline_script_hashes
from viz.dashboard.page import render

pytestmark = pytest.mark.integration

PAGES = ["/docs", "/dashboard", "/dashboard/stations/KG-SR-01", "/boards/BD-RG"]
_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']*)["']""")


def policy(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


@pytest.mark.parametrize("path", PAGES)
def test_html_pages_carry_a_strict_policy_and_refuse_framing(api: Api, path: str) -> None:
    with api.client() as client:
        page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    csp = policy(page.headers["content-security-policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    scripts = csp["script-src"]
    assert "'unsafe-inline'" not in scripts
    assert not [s for s in scripts if s.startswith(("http", "*"))]
    # Exactly the page's own inline scripts are allowed, each by hash.
    assert set(inline_script_hashes(page.text)) == {s for s in scripts if s.startswith("'sha")}


def test_docs_load_swagger_ui_from_this_origin(api: Api) -> None:
    with api.client() as client:
        docs = client.get("/docs")
        urls = _URL.findall(docs.text)
        assets = [client.get(url) for url in urls if url.startswith("/docs/static/")]
    assert urls
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert "cdn" not in docs.text.lower()
    assert [a.status_code for a in assets] == [200] * len(assets)
    assert any(url.endswith("swagger-ui-bundle.js") for url in urls)


def test_json_answers_say_nosniff_too(api: Api) -> None:
    with api.client("viewer") as client:
        stations = client.get("/api/v1/stations")
        refused = client.get("/api/v1/users")
    for reply in (stations, refused):
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["referrer-policy"] == "no-referrer"


def test_markup_slipped_into_a_page_header_is_never_allowed_to_run() -> None:
    clean = render(Div(text="x"), title="t", header="<h1>ok</h1>")
    hostile = render(Div(text="x"), title="t", header="<h1><script>alert(1)</script></h1>")
    assert "<script>alert(1)</script>" in hostile.html
    injected = inline_script_hashes("<script>alert(1)</script>")[0]
    assert injected in inline_script_hashes(hostile.html)
    assert injected not in hostile.script_hashes
    assert len(hostile.script_hashes) == len(clean.script_hashes)


def test_data_blocks_and_loaded_scripts_are_not_hashed() -> None:
    html = (
        '<script src="/a.js"></script><script type="application/json">{"a": 1}</script>'
        "<script>run()</script>"
    )
    assert inline_script_hashes(html) == ("'sha256-AvyuiL0SD1mVY3NNxR+V2uo+lhk6RMFrytWmRt6CrJQ='",)
