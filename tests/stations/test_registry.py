"""The station registry file."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from stations import RegistryError, StationKind, load_registry, parse_registry, sync_registry
from telemetry import migrate

GOOD_STATION = """
  - id: X-1
    kind: shrimp_river
    name_vi: Trạm thử
    name_en: Test station
    district: An Biên
    latitude: 9.8
    longitude: 105.0
    parameters: [do, temp]
    sampling_interval_s: 300
"""


def test_default_registry_is_the_provinces_network() -> None:
    registry = load_registry()
    kinds = {s.id: s.kind for s in registry.stations.values()}
    assert kinds == {
        "KG-SR-01": StationKind.SHRIMP_RIVER,
        "KG-SR-02": StationKind.SHRIMP_RIVER,
        "KG-SR-03": StationKind.SHRIMP_RIVER,
        "KG-CS-01": StationKind.CAGE_SEA,
        "KG-CS-02": StationKind.CAGE_SEA,
        "KG-EF-01": StationKind.EFFLUENT,
        "KG-EF-02": StationKind.EFFLUENT,
    }
    assert len(registry.boards) == 7
    assert all(s.example_site for s in registry.stations.values())
    assert all(s.timezone == "Asia/Ho_Chi_Minh" for s in registry.stations.values())
    # Every station is shown on at least one public board.
    shown = {sid for board in registry.boards.values() for sid in board.stations}
    assert shown == set(kinds)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stations: [", "not valid YAML"),
        ("stations: []", "stations: Tuple should have at least 1 item"),
        (
            "stations:" + GOOD_STATION.replace("shrimp_river", "pond"),
            "stations[0].kind: Input should be 'shrimp_river', 'cage_sea' or 'effluent'"
            " (got 'pond')",
        ),
        (
            "stations:" + GOOD_STATION.replace("latitude: 9.8", "latitude: 99"),
            "stations[0].latitude: Input should be less than or equal to 90 (got 99)",
        ),
        (
            "stations:" + GOOD_STATION.replace("[do, temp]", "[do, oxygen]"),
            "stations[0].parameters: unknown parameter code(s) ['oxygen']",
        ),
        (
            "stations:" + GOOD_STATION.replace("id: X-1", "id: X/1"),
            "stations[0].id: letters, digits",
        ),
        (
            "stations:" + GOOD_STATION.replace("    district: An Biên\n", ""),
            "stations[0].district: Field required",
        ),
        (
            "stations:" + GOOD_STATION + "    colour: red\n",
            "stations[0].colour: Extra inputs are not permitted",
        ),
        (
            "stations:" + GOOD_STATION + GOOD_STATION,
            "station ids must be unique; repeated: ['X-1']",
        ),
        (
            "stations:"
            + GOOD_STATION.replace("sampling_interval_s: 300", "sampling_interval_s: 0"),
            "stations[0].sampling_interval_s: Input should be greater than 0",
        ),
        (
            "stations:" + GOOD_STATION + "    timezone: Mars/Olympus\n",
            "stations[0].timezone: an IANA time zone",
        ),
        (
            "stations:" + GOOD_STATION + "boards:\n  - {id: B, name_vi: b, name_en: b, location: l,"
            " latitude: 1, longitude: 1, stations: [X-1, X-9]}",
            "board B shows unknown station(s) ['X-9']",
        ),
    ],
)
def test_mistakes_name_file_field_and_expectation(text: str, expected: str) -> None:
    with pytest.raises(RegistryError) as caught:
        parse_registry(text, source="my-stations.yaml")
    message = str(caught.value)
    assert message.startswith("my-stations.yaml: invalid station registry")
    assert expected in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"(?s)nope\.yaml: .*cannot read the file"):
        load_registry(tmp_path / "nope.yaml")


@pytest.mark.parametrize(("count", "clones"), [(3, 0), (7, 0), (20, 13)])
def test_clones_for_load_tests(count: int, clones: int) -> None:
    registry = load_registry().with_clones(count)
    assert len(registry) == count
    cloned = [s for s in registry.stations.values() if s.clone_of]
    assert len(cloned) == clones
    if cloned:
        assert cloned[0].id == "KG-SR-01-C00007"
        assert cloned[0].parameters == registry.stations["KG-SR-01"].parameters


@pytest.mark.integration
def test_sync_to_database(database_url: str) -> None:
    migrate(database_url)
    registry = load_registry()
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, registry.with_clones(10), deactivate_missing=False)
        sync_registry(conn, registry, deactivate_missing=True)
        rows = conn.execute(
            "SELECT id, active, kind, parameters FROM stations ORDER BY id"
        ).fetchall()
        boards = conn.execute("SELECT id, stations FROM boards WHERE id = 'BD-VT'").fetchall()
    active = {r[0] for r in rows if r[1]}
    assert active == set(registry.stations)
    assert len(rows) == 10  # the clones stay, inactive
    sr1 = next(r for r in rows if r[0] == "KG-SR-01")
    assert sr1[2] == "shrimp_river"
    assert sr1[3] == list(registry.stations["KG-SR-01"].parameters)
    assert boards == [("BD-VT", ["KG-SR-03"])]
