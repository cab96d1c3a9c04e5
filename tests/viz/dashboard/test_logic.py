"""Pure pieces of the dashboards and boards, with hand-computed expectations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from telemetry import QCFlag
from viz.api import ApiSettings
from viz.boards import display_number, stale_after
from viz.dashboard.overview import overview_page
from viz.dashboard.series import BEYOND, Threshold, bands, plan
from viz.dashboard.status import Link, link, station_quality, web_mercator
from viz.messages import MESSAGES, both


@pytest.mark.parametrize(
    ("interval_s", "expected"),
    [(60, timedelta(minutes=15)), (300, timedelta(minutes=15)), (600, timedelta(minutes=30))],
)
def test_stale_after_three_intervals_or_fifteen_minutes(
    interval_s: int, expected: timedelta
) -> None:
    assert stale_after(interval_s) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [(5.234, "5,23"), (7.0, "7,00"), (12.34, "12,3"), (25000.4, "25000"), (-0.5, "-0,50")],
)
def test_board_numbers_use_the_vietnamese_decimal_comma(value: float, text: str) -> None:
    assert display_number(value) == text


@pytest.mark.parametrize(
    ("span", "table", "step"),
    [
        (timedelta(hours=24), None, timedelta(minutes=5)),
        (timedelta(days=7), "readings_1h", timedelta(hours=1)),
        (timedelta(days=30), "readings_1h", timedelta(hours=1)),
        (timedelta(days=90), "readings_1d", timedelta(days=1)),
    ],
)
def test_ranges_are_downsampled_on_the_server(
    span: timedelta, table: str | None, step: timedelta
) -> None:
    chosen = plan(span, sampling_interval_s=300)
    assert (chosen.table, chosen.step) == (table, step)


def test_threshold_zones_run_from_each_tier_to_the_next() -> None:
    low_do = Threshold("do", "below", (4.0, 3.5, 2.0))
    high_nh3 = Threshold("nh3", "above", (0.1, None, 0.5))
    zones = bands([low_do, high_nh3])
    assert zones["y0"] == [3.5, 2.0, 2.0 - BEYOND, 0.1, 0.5]
    assert zones["y1"] == [4.0, 3.5, 2.0, 0.5, 0.5 + BEYOND]
    assert zones["colour"] == ["#f2d600", "#ff7e00", "#e60000", "#f2d600", "#e60000"]


def test_every_message_has_both_languages() -> None:
    assert all(m.vi and m.en for m in MESSAGES.values())
    assert both("disconnected") == "Mất kết nối / Disconnected"


def test_the_overview_map_uses_tiles_only_when_a_tile_server_is_set() -> None:
    offline = overview_page("").html
    tiled = overview_page("https://tiles.example.vn/{Z}/{X}/{Y}.png").html
    assert "WMTSTileSource" not in offline
    assert "tiles.example.vn" not in offline
    assert "WMTSTileSource" in tiled
    assert "https://tiles.example.vn/{Z}/{X}/{Y}.png" in tiled


@pytest.mark.parametrize(
    ("lon", "lat", "x", "y"),
    [(0.0, 0.0, 0.0, 0.0), (105.0, 10.0, 11_688_546.5, 1_118_890.0)],
)
def test_web_mercator(lon: float, lat: float, x: float, y: float) -> None:
    assert web_mercator(lon, lat) == pytest.approx((x, y), abs=1.0)


def test_a_tile_url_must_name_its_z_x_y() -> None:
    with pytest.raises(ValidationError):
        ApiSettings(map_tiles="https://tiles.example.vn/tile.png")


T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
EARLIER, LATER = T0 - timedelta(minutes=1), T0 + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("status", "status_at", "last", "stale", "expected"),
    [
        ("online", EARLIER, T0, False, Link.ONLINE),
        (None, None, T0, False, Link.ONLINE),  # never announced: the readings decide
        ("online", EARLIER, T0, True, Link.STALE),
        (None, None, None, True, Link.STALE),
        ("offline", LATER, T0, False, Link.OFFLINE),  # its will, just after the last reading
        ("offline", LATER, T0, True, Link.OFFLINE),
        ("offline", None, None, True, Link.OFFLINE),
        ("offline", EARLIER, T0, False, Link.ONLINE),  # readings came after the announcement
        ("offline", EARLIER, T0, True, Link.STALE),
    ],
)
def test_a_stations_link_from_its_status_and_readings(
    status: str | None,
    status_at: datetime | None,
    last: datetime | None,
    stale: bool,
    expected: Link,
) -> None:
    assert link(status, status_at, last, stale=stale) is expected


@pytest.mark.parametrize(
    ("flags", "shown"),
    [
        ([], QCFlag.MISSING),
        ([QCFlag.GOOD, QCFlag.GOOD], QCFlag.GOOD),
        ([QCFlag.GOOD, QCFlag.UNKNOWN], QCFlag.UNKNOWN),  # never good while one is unchecked
        ([QCFlag.UNKNOWN, QCFlag.SUSPECT], QCFlag.SUSPECT),
        ([QCFlag.FAIL, QCFlag.UNKNOWN, QCFlag.GOOD], QCFlag.FAIL),
        ([QCFlag.MISSING, QCFlag.GOOD], QCFlag.GOOD),
    ],
)
def test_a_station_outline_shows_unchecked_values_above_good_ones(
    flags: list[QCFlag], shown: QCFlag
) -> None:
    assert station_quality(flags) == shown
