"""The parameter catalogue."""

from __future__ import annotations

from telemetry import PARAMETERS, PARAMETERS_BY_ID

DESIGN_CODES = [
    "temp",
    "ph",
    "do",
    "sal",
    "cond",
    "turb",
    "tss",
    "cod",
    "bod5",
    "toc",
    "nh4",
    "tan",
    "no2",
    "no3",
    "po4",
    "tn",
    "tp",
    "h2s",
    "alk",
    "chla",
    "flow",
    "level",
    "color",
    "cl2",
]


def test_every_design_code_is_catalogued_once() -> None:
    assert sorted(PARAMETERS) == sorted(DESIGN_CODES)
    assert len(PARAMETERS_BY_ID) == len(PARAMETERS)


def test_ids_are_stable() -> None:
    # Stored in readings.parameter_id: renumbering would corrupt history.
    assert {c: p.id for c, p in PARAMETERS.items() if c in ("temp", "ph", "do", "sal", "cl2")} == {
        "temp": 1,
        "ph": 2,
        "do": 3,
        "sal": 4,
        "cl2": 24,
    }


def test_units_and_both_languages() -> None:
    assert PARAMETERS["do"].unit == "mg/L"
    assert PARAMETERS["sal"].unit == "‰"
    assert PARAMETERS["cond"].unit == "µS/cm"
    assert PARAMETERS["do"].name_vi == "Oxy hòa tan"
    assert all(p.name_vi and p.name_en for p in PARAMETERS.values())
