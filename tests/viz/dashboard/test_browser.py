"""Dashboards and boards in Debian's Chromium (headless, through Playwright): plots drawn with
data, board and overview values equal to the database, the stale state, alert actions only
after login, hostile station names shown as text. Screenshots go to ``artifacts/``
(git-ignored)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from playwright.sync_api import expect, sync_playwright

from telemetry import PARAMETERS, SystemClock
from tests.support.common import ARTIFACTS, unavailable
from tests.support.network import free_port, serving
from tests.support.postgres import PostgresServer
from tests.viz.conftest import PASSWORD, insert_readings, prepare
from viz.api import ApiSettings, create_app
from viz.boards import display_number

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
GAP_HOURS = range(200, 206)  # hours before now with no data at KG-SR-01
HOSTILE = "<img src=x onerror=alert(1)>"  # a station name a careless page would run
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
    live KG-EF-01, KG-EF-02 stopped two hours ago, an open alert with its value, and a live
    station KG-XS-01 whose names are markup (on no board)."""
    hourly = [now - timedelta(hours=h) for h in range(24, 720) if h not in GAP_HOURS]
    recent = [now - timedelta(minutes=5 * i) for i in range(288)]
    sr = ("temp", "ph", "do", "sal", "cond", "turb", "tan", "no2")
    ef = ("flow", "temp", "ph", "do", "tss", "cod", "nh4", "tn")
    rows = _rows("KG-SR-01", sr, hourly + recent, 1)
    rows += _rows("KG-EF-01", ef, recent[:36], 2)
    rows += _rows("KG-EF-02", ef, [now - timedelta(hours=2, minutes=5 * i) for i in range(12)], 3)
    rows += _rows("KG-XS-01", ("temp", "do"), recent[:6], 4)
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO stations (id, kind, name_vi, name_en, district, latitude, longitude,"
            " sampling_interval_s, parameters) VALUES ('KG-XS-01', 'shrimp_river', %s, %s,"
            " %s, 10.2, 105.3, 300, '{temp,do}')",
            (HOSTILE, HOSTILE, HOSTILE),
        )
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
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
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
    refused: list[str] = []  # what the Content-Security-Policy blocked
    page.on("console", lambda m: refused.append(m.text) if "Security Policy" in m.text else None)
    page.csp_refusals = refused
    return page


def _login(base: str) -> str:
    import httpx

    reply = httpx.post(
        f"{base}/api/v1/auth/token", json={"username": "officer", "password": PASSWORD}
    )
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
    assert not page.csp_refusals, page.csp_refusals
    return count


def _latest(url: str) -> dict[tuple[str, str], float]:
    """(station, parameter it measures) -> newest stored value, for every active station."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT DISTINCT ON (r.station_id, r.parameter_id) r.station_id, p.code, r.value"
            " FROM readings r JOIN parameters p ON p.id = r.parameter_id"
            " JOIN stations s ON s.id = r.station_id AND s.active AND p.code = ANY(s.parameters)"
            " ORDER BY r.station_id, r.parameter_id, r.time DESC"
        ).fetchall()
    return {(station, code): value for station, code, value in rows}


def _stations(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM stations WHERE active ORDER BY id")]


def _data(page: Any, source: str) -> dict[str, list[Any]]:
    data: dict[str, list[Any]] = page.evaluate(
        "(name) => Object.fromEntries(Object.entries("
        "Bokeh.documents[0].get_model_by_name(name).data).map(([k, v]) => [k, [...v]]))",
        source,
    )
    return data


def test_overview_map_and_alerts(site: tuple[str, str], browser: Any) -> None:
    base, url = site
    page = _page(browser, base, _login(base), (1700, 1100))
    page.goto(f"{base}/dashboard")
    assert _drawn(page, "aw:overview") == len(_stations(url))
    assert _drawn(page, "aw:alerts") == 1
    _drawn(page, "aw:station_alerts")
    page.wait_for_function(
        "Bokeh.documents[0].get_model_by_name('aw:overview').data.fill.includes('#ff7e00')"
    )  # KG-SR-01: an open warning, once the officers' data is laid over the public one
    stations = _data(page, "aw:overview")
    fill = dict(zip(stations["id"], stations["fill"], strict=True))
    assert fill["KG-SR-01"] == "#ff7e00"
    assert fill["KG-EF-02"] == "#7f7f7f"  # disconnected
    assert fill["KG-EF-01"] == "#00b050"  # calm
    assert page.get_by_role("button", name="Xác nhận / Acknowledge").is_visible()
    assert page.get_by_text("Cảnh báo nặng nhất / Worst open alert").is_visible()
    assert not page.locator("#login").is_visible()
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
    page.evaluate("Bokeh.documents[0].get_model_by_name('aw:alerts').selected.indices = [0]")
    page.get_by_role("button", name="Xác nhận / Acknowledge").click()
    # The panel says what was done in words, Vietnamese first (not the API's action name).
    page.get_by_text(f"#{alert_id}: Đã xác nhận / Acknowledged").wait_for(timeout=15_000)
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT state FROM alerts WHERE id = %s", (alert_id,)).fetchone()
    assert row == ("acknowledged",)


def test_anonymous_overview_shows_stations_and_latest_values(
    site: tuple[str, str], browser: Any
) -> None:
    """No login: every station with its status and latest values, as stored; no alerts."""
    base, url = site
    page = _page(browser, base, None, (1700, 1100))
    with page.expect_response(lambda r: "/dashboard/data/overview.json" in r.url) as answer:
        page.goto(f"{base}/dashboard")
    assert answer.value.status == 200  # the public part answers without a login
    assert _drawn(page, "aw:overview") == len(_stations(url))
    stations = _data(page, "aw:overview")
    assert stations["id"] == _stations(url)
    state = dict(zip(stations["id"], stations["state_text"], strict=True))
    assert state["KG-EF-01"] == "Đang hoạt động"
    assert state["KG-EF-02"] == "Mất kết nối"
    assert "#ff7e00" not in stations["fill"]  # alert colours are the officers'
    assert set(stations["alert"]) == {""}
    values = _data(page, "aw:values")
    keys = list(zip(values["station"], values["parameter"], strict=True))
    stored = _latest(url)
    assert dict(zip(keys, values["value"], strict=True)) == pytest.approx(stored)
    printed = {k: display_number(v) for k, v in stored.items()}
    assert dict(zip(keys, values["text"], strict=True)) == printed
    assert page.locator(".slick-row", has_text="Cảng cá Tắc Cậu, Châu Thành").count() >= 2
    do_row = page.locator(".slick-row", has_text="Oxy hòa tan").first  # KG-EF-01 sorts first
    assert printed[("KG-EF-01", "do")] in do_row.inner_text()
    assert page.get_by_text("Giá trị mới nhất / Latest values").is_visible()
    _shot(page, "dashboard-overview-anonymous")
    # The open page follows new readings (the table redraws at the same number of rows).
    insert_readings(url, [(datetime.now(UTC), "KG-EF-01", "do", 6.54, 1, 0)])
    expect(do_row).to_contain_text("6,54", timeout=15_000)


def test_anonymous_visitor_must_log_in_for_alerts(site: tuple[str, str], browser: Any) -> None:
    """The alert data is refused, the actions are hidden behind a login prompt."""
    base, _ = site
    page = _page(browser, base, None, (1700, 1100))
    with (
        page.expect_response(lambda r: r.url.endswith("/dashboard/data/alerts.json")) as alerts,
        page.expect_response(lambda r: "/dashboard/data/station_alerts.json" in r.url) as worst,
    ):
        page.goto(f"{base}/dashboard")
    assert (alerts.value.status, worst.value.status) == (401, 401)
    _drawn(page, "aw:overview")
    assert page.evaluate("Bokeh.documents[0].get_model_by_name('aw:alerts').data.id.length") == 0
    prompt = page.get_by_text("chỉ dành cho cán bộ đã đăng nhập")
    assert prompt.is_visible()
    assert page.locator("#login").is_visible()
    assert not page.get_by_role("button", name="Xác nhận / Acknowledge").is_visible()
    assert not page.get_by_text("Cảnh báo nặng nhất / Worst open alert").is_visible()
    assert "log in" in page.evaluate("AW.act(1, 'acknowledge', '')")  # the API refuses (401)
    # The prompt's button (inside a Bokeh widget) leads to the login form.
    prompt.locator("xpath=..").get_by_role("button").click()
    expect(page.locator("#login input[name=username]")).to_be_focused()
    # Logging in on the page brings the officers' parts without a reload.
    page.fill("#login input[name=username]", "officer")
    page.fill("#login input[name=password]", PASSWORD)
    page.click("#login button[type=submit]")
    page.get_by_role("button", name="Xác nhận / Acknowledge").wait_for()
    assert _drawn(page, "aw:alerts") >= 1
    assert not prompt.is_visible()
    page.click("#logout")
    expect(page.locator("#login")).to_be_visible()
    assert page.evaluate("AW.token()") is None


def test_a_refused_token_falls_back_to_the_public_page(site: tuple[str, str], browser: Any) -> None:
    """A token the server no longer accepts: the tab forgets it and says so."""
    base, url = site
    page = _page(browser, base, None, (1200, 800))
    page.goto(f"{base}/dashboard")
    page.evaluate("sessionStorage.setItem('aw_token', 'not-a-valid-token')")
    page.reload()
    expect(page.locator("#login-status")).to_contain_text("Phiên đăng nhập đã hết hạn")
    assert page.evaluate("AW.token()") is None
    assert _drawn(page, "aw:overview") == len(_stations(url))
    assert page.get_by_text("chỉ dành cho cán bộ đã đăng nhập").is_visible()


def test_station_series_still_need_a_login(site: tuple[str, str], browser: Any) -> None:
    base, _ = site
    page = _page(browser, base, None, (1200, 800))
    with page.expect_response(lambda r: "/dashboard/data/stations/" in r.url) as answer:
        page.goto(f"{base}/dashboard/stations/KG-SR-01")
    assert answer.value.status == 401
    page.wait_for_function("window.Bokeh && Bokeh.documents.length > 0")
    assert page.locator("#login").is_visible()
    assert page.evaluate("Bokeh.documents[0].get_model_by_name('aw:series').data.t.length") == 0


def test_a_station_named_in_markup_shows_as_text(site: tuple[str, str], browser: Any) -> None:
    """Station names are escaped on the page that holds the officer's token."""
    base, _ = site
    page = _page(browser, base, _login(base), (1700, 1100))
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{base}/dashboard")
    _drawn(page, "aw:overview")
    _drawn(page, "aw:values")
    cells = page.locator(".slick-cell", has_text=HOSTILE)
    cells.first.wait_for()
    assert cells.first.inner_text() == HOSTILE
    assert page.locator("img[src=x]").count() == 0
    page.evaluate(_PAINTED)
    assert dialogs == []


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


def test_the_api_docs_work_offline_under_their_policy(site: tuple[str, str], browser: Any) -> None:
    """Swagger UI comes from the app itself and runs under the page's Content-Security-Policy."""
    base, _ = site
    page = _page(browser, base, None, (1200, 900))
    page.goto(f"{base}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("AquaWatch API")
    expect(page.locator(".opblock").first).to_be_visible()
    _shot(page, "docs")
    assert not page.offline_requests, page.offline_requests
    assert not page.csp_refusals, page.csp_refusals


def test_an_officer_tries_a_limit_on_the_station_page(site: tuple[str, str], browser: Any) -> None:
    """What-if: the candidate's alerts over the last 30 days, as the API computes them."""
    base, url = site
    token = _login(base)
    page = _page(browser, base, token, (1200, 3000))
    page.goto(f"{base}/dashboard/stations/KG-SR-01?range=24h")
    _drawn(page, "aw:series")
    page.get_by_role("combobox", name="Quy tắc / Rule").select_option("shrimp.do.low")
    page.get_by_label("Lưu ý / Advisory").fill("5,8")  # a decimal comma, as typed here
    page.get_by_label("Cảnh báo / Warning").fill("5.6")
    page.get_by_role("button", name="Thử / Try").click()
    summary = page.get_by_text("Ngưỡng thử / Candidate:")
    summary.wait_for(timeout=60_000)
    shown = _data(page, "what-if:alerts")
    import httpx

    reply = httpx.post(
        f"{base}/api/v1/stations/KG-SR-01/thresholds/shrimp.do.low/what-if",
        json={"advisory": 5.8, "warning": 5.6, "days": 30},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    ).json()
    candidate = reply["candidate"]["spans"]
    assert candidate, "DO about 5.5 mg/L stays below 5.8 for hours: the candidate alerts"
    assert shown["limits"].count("Ngưỡng thử / Candidate") == len(candidate)
    assert shown["limits"].count("Ngưỡng hiện hành / Limits in force") == reply["current"]["alerts"]
    # The page asked a moment before this reply: the last 30 days' end moved on meanwhile,
    # which may shorten or lengthen a span still open by up to a sampling step.
    expected = [s["hours"] for s in reply["current"]["spans"] + candidate]
    assert shown["hours"] == pytest.approx(expected, abs=5 / 60)
    text = summary.inner_text()
    assert f"{reply['candidate']['alerts']} cảnh báo / alerts" in text
    _shot(page, "dashboard-station-what-if")
    with psycopg.connect(url) as conn:
        overrides = conn.execute("SELECT count(*) FROM threshold_overrides").fetchone()
    assert overrides == (0,)  # nothing applied


def test_a_viewer_may_not_try_limits(site: tuple[str, str], browser: Any) -> None:
    base, _ = site
    import httpx

    reply = httpx.post(
        f"{base}/api/v1/auth/token", json={"username": "viewer", "password": PASSWORD}
    )
    page = _page(browser, base, reply.json()["access_token"], (1200, 3000))
    page.goto(f"{base}/dashboard/stations/KG-SR-01?range=24h")
    _drawn(page, "aw:series")
    page.get_by_label("Cảnh báo / Warning").fill("5.6")
    page.get_by_role("button", name="Thử / Try").click()
    page.wait_for_function(
        "Bokeh.documents[0].get_model_by_name('what-if:summary').text.length > 0"
        " && !Bokeh.documents[0].get_model_by_name('what-if:summary').text.includes('…')"
    )
    assert _data(page, "what-if:alerts")["limits"] == []
