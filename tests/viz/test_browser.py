"""Dashboards and boards in Debian's Chromium (headless, through Playwright): plots drawn with
data, board values equal to the database, the stale state, alert actions. Screenshots go to
``artifacts/`` (git-ignored)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from playwright.sync_api import sync_playwright

from telemetry import PARAMETERS, SystemClock
from tests.support import ARTIFACTS, PostgresServer, free_port, serving, unavailable
from tests.viz.conftest import PASSWORD, prepare
from viz.api import ApiSettings, create_app
from viz.boards import display_number

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
GAP_HOURS = range(200, 206)  # hours before now with no data at KG-SR-01
# Rows in a named source once it holds data and the document is idle (0 before).
_LOADED = """(name) => {
  const doc = window.Bokeh && Bokeh.documents[0];
  const source = doc && doc.get_model_by_name(name);
  return source && doc.is_idle ? (Object.values(source.data)[0]?.length ?? 0) : 0;
}"""
_PAINTED = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"


def _rows(station: str, codes: tuple[str, ...], times: list[datetime], seed: int) -> list[Any]:
    rng = np.random.default_rng(seed)
    rows = []
    for code in codes:
        base = {"temp": 29.0, "ph": 7.8, "do": 5.5, "sal": 12.0, "cod": 12.0, "nh4": 0.4}
        values = base.get(code, 3.0) + rng.normal(0, 0.2, len(times))
        pid = PARAMETERS[code].id
        rows += [(t, station, pid, float(v), 1) for t, v in zip(times, values, strict=True)]
    return rows


def seed(url: str, now: datetime) -> None:
    """30 days hourly plus 24 h at 5 minutes for KG-SR-01 (with a gap and flagged points),
    live KG-EF-01, KG-EF-02 stopped two hours ago, an open alert with its value."""
    hourly = [now - timedelta(hours=h) for h in range(24, 720) if h not in GAP_HOURS]
    recent = [now - timedelta(minutes=5 * i) for i in range(288)]
    sr = ("temp", "ph", "do", "sal", "cond", "turb", "tan", "no2")
    ef = ("flow", "temp", "ph", "do", "tss", "cod", "nh4", "tn")
    rows = _rows("KG-SR-01", sr, hourly + recent, 1)
    rows += _rows("KG-EF-01", ef, recent[:36], 2)
    rows += _rows("KG-EF-02", ef, [now - timedelta(hours=2, minutes=5 * i) for i in range(12)], 3)
    with psycopg.connect(url) as conn:
        with conn.cursor().copy(
            "COPY readings (time, station_id, parameter_id, value, qc) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(
            "UPDATE readings SET qc = 4, value = 0.4 WHERE station_id = 'KG-SR-01'"
            " AND parameter_id = %s AND time = %s",
            (PARAMETERS["do"].id, recent[30]),
        )
        conn.execute(
            "INSERT INTO alerts (station_id, rule_id, family, severity, opened_at, value)"
            " VALUES ('KG-SR-01', 'shrimp.do.low', 'threshold', 2, %s, 3.2)",
            (now - timedelta(hours=3),),
        )
        conn.execute("SELECT aquawatch_refresh_rollups('0 seconds')")


@pytest.fixture(scope="module")
def site(postgres: PostgresServer) -> Iterator[tuple[str, str]]:
    """A served app over a seeded database: (base URL, database URL)."""
    with postgres.database() as url:
        prepare(url)
        seed(url, datetime.now(UTC))
        settings = ApiSettings(database_url=url, port=free_port(), pool_size=4)
        with serving(create_app(settings, clock=SystemClock()), settings.port) as base:
            yield base, url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (no downloaded browsers)."""
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium at {CHROMIUM} (Debian package chromium)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )  # fmt: skip
        yield chromium
        chromium.close()


def _page(browser: Any, base: str, token: str | None, size: tuple[int, int]) -> Any:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    context.set_default_timeout(20_000)
    if token is not None:
        context.add_init_script(f"sessionStorage.setItem('aw_token', {token!r})")
    offline: list[str] = []
    context.on("request", lambda r: offline.append(r.url) if not r.url.startswith(base) else None)
    page = context.new_page()
    page.offline_requests = offline
    return page


def _login(base: str) -> str:
    import httpx

    reply = httpx.post(f"{base}/api/v1/auth/token", json={"username": "officer",
                       "password": PASSWORD})  # fmt: skip
    token: str = reply.json()["access_token"]
    return token


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _drawn(page: Any, source: str) -> int:
    page.wait_for_function(_LOADED, arg=source)
    page.evaluate(_PAINTED)
    count: int = page.evaluate(_LOADED, source)
    assert page.locator("canvas").count() > 0
    assert not page.offline_requests, f"requests outside the app: {page.offline_requests}"
    return count


def test_overview_map_and_alerts(site: tuple[str, str], browser: Any) -> None:
    base, _ = site
    page = _page(browser, base, _login(base), (1700, 1100))
    page.goto(f"{base}/dashboard")
    assert _drawn(page, "aw:overview") == 7
    assert _drawn(page, "aw:alerts") == 1
    fills = page.evaluate("Bokeh.documents[0].get_model_by_name('aw:overview').data.fill")
    assert "#ff7e00" in fills  # KG-SR-01: an open warning
    assert "#7f7f7f" in fills  # KG-EF-02: disconnected
    _shot(page, "dashboard-overview")


def test_station_30_days_with_gaps_flags_and_alerts(site: tuple[str, str], browser: Any) -> None:
    base, _ = site
    page = _page(browser, base, _login(base), (1200, 2200))
    page.goto(f"{base}/dashboard/stations/KG-SR-01?range=30d")
    assert _drawn(page, "aw:series") >= 720
    do = page.evaluate("Bokeh.documents[0].get_model_by_name('aw:series').data.do")
    assert any(v != v for v in do[100:-50]), "the six missing hours are a gap (NaN)"
    assert 0 not in do
    plots = page.evaluate(
        "[...Bokeh.documents[0].all_models].filter(m => m.name?.startsWith('plot:')).length"
    )
    assert plots == 8
    _shot(page, "dashboard-station-30d")
    page.goto(f"{base}/dashboard/stations/KG-SR-01?range=24h")
    assert _drawn(page, "aw:series") >= 288
    _shot(page, "dashboard-station-24h")


def test_board_matches_database_and_shows_stale(site: tuple[str, str], browser: Any) -> None:
    base, url = site
    page = _page(browser, base, None, (1920, 1080))
    page.goto(f"{base}/boards/BD-TC")
    assert _drawn(page, "board:wqi") >= 1
    with psycopg.connect(url) as conn:
        latest = conn.execute(
            "SELECT DISTINCT ON (parameter_id) parameter_id, value FROM readings"
            " WHERE station_id = 'KG-EF-01' ORDER BY parameter_id, time DESC"
        ).fetchall()
    tile = page.locator("section.tile[data-station='KG-EF-01']")
    for pid, value in latest:
        code = next(p.code for p in PARAMETERS.values() if p.id == pid)
        assert tile.locator(f".num[data-p='{code}']").inner_text() == display_number(value)
    assert tile.locator(".wqi-num").inner_text().isdigit()
    stale = page.locator("section.tile[data-station='KG-EF-02']")
    assert "mất kết nối" in stale.locator(".state").inner_text().lower()
    assert "stale" in (stale.get_attribute("class") or "")
    _shot(page, "board-BD-TC")


def test_officer_acknowledges_from_the_dashboard(site: tuple[str, str], browser: Any) -> None:
    base, url = site
    page = _page(browser, base, _login(base), (1700, 1100))
    page.goto(f"{base}/dashboard")
    _drawn(page, "aw:alerts")
    alert_id = page.evaluate("Bokeh.documents[0].get_model_by_name('aw:alerts').data.id[0]")
    assert page.evaluate(f"AW.act({alert_id}, 'acknowledge', 'đã kiểm tra')") == ""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT state FROM alerts WHERE id = %s", (alert_id,)).fetchone()
    assert row == ("acknowledged",)


def test_pages_without_login_show_no_data(site: tuple[str, str], browser: Any) -> None:
    base, _ = site
    page = _page(browser, base, None, (1200, 800))
    with page.expect_response(lambda r: "/dashboard/data/overview.json" in r.url) as answer:
        page.goto(f"{base}/dashboard")
    assert answer.value.status == 401  # the page asked for data and was refused
    page.wait_for_function("window.Bokeh && Bokeh.documents.length > 0")
    assert page.locator("#login").is_visible()
    assert page.evaluate("Bokeh.documents[0].get_model_by_name('aw:overview').data.id.length") == 0


def test_board_turns_disconnected_when_a_station_stops(site: tuple[str, str], browser: Any) -> None:
    """The open page notices on its own: KG-EF-01's data now ends an hour ago."""
    base, url = site
    page = _page(browser, base, None, (1920, 1080))
    page.goto(f"{base}/boards/BD-TC")
    _drawn(page, "board:wqi")
    tile = page.locator("section.tile[data-station='KG-EF-01'] .state")
    assert "đang hoạt động" in tile.inner_text().lower()
    with psycopg.connect(url) as conn:
        conn.execute(
            "DELETE FROM readings WHERE station_id = 'KG-EF-01'"
            " AND time > now() - interval '1 hour'"
        )
    page.wait_for_function(
        "document.querySelector(\"section.tile[data-station='KG-EF-01']\")"
        ".classList.contains('stale')",
        timeout=15_000,
    )
    assert "mất kết nối" in tile.inner_text().lower()
    _shot(page, "board-BD-TC-stopped")
