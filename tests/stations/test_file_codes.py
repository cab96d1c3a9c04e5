"""File codes, transport and provinces: validated in the registry, synced, defaulted in SQL."""

from __future__ import annotations

import psycopg
import pytest

from stations import RegistryError, Transport, load_registry, parse_registry, sync_registry
from telemetry import migrate

STATION = """
  - id: {id}
    kind: effluent
    name_vi: Trạm
    name_en: Station
    district: Châu Thành
    latitude: 10.0
    longitude: 105.1
    parameters: [cod]
    sampling_interval_s: 300
"""


def test_the_built_in_stations_are_in_an_giang_now_and_kien_giang_before() -> None:
    registry = load_registry()
    assert {s.province for s in registry.stations.values()} == {"An Giang"}
    assert {s.former_province for s in registry.stations.values()} == {"Kiên Giang"}
    assert {s.code for s in registry.stations.values()} == set(registry.stations)
    assert {s.transport for s in registry.stations.values()} == {Transport.MQTT}


def test_two_stations_cannot_file_under_one_code() -> None:
    text = (
        "stations:" + STATION.format(id="A-1") + "    file_code: A-2\n" + STATION.format(id="A-2")
    )
    with pytest.raises(RegistryError, match="file codes"):
        parse_registry(text, source="test")


@pytest.mark.integration
def test_file_code_is_synced_and_defaults_to_the_id(database_url: str) -> None:
    migrate(database_url)
    text = (
        "stations:"
        + STATION.format(id="AG-EF-09")
        + "    file_code: AG_KCN_09\n    transport: both\n    province: An Giang\n"
    )
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, parse_registry(text, source="test"), deactivate_missing=True)
        conn.execute(
            "INSERT INTO stations (id, kind, name_vi, name_en, district, latitude, longitude,"
            " sampling_interval_s, parameters) VALUES ('X-1', 'effluent', 'x', 'x', 'x', 0, 0,"
            " 300, '{cod}')"
        )
        rows = conn.execute(
            "SELECT id, file_code, transport, province FROM stations ORDER BY id"
        ).fetchall()
    assert rows == [("AG-EF-09", "AG_KCN_09", "both", "An Giang"), ("X-1", "X-1", "mqtt", None)]
