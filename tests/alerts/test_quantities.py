"""The registry of derived quantities, their labels and the series keys rules judge."""

from __future__ import annotations

import pytest

from alerts.config.profile_schema import QUANTITIES
from alerts.quantities import DERIVED_QUANTITIES, Language, SeriesKey, quantity_label
from telemetry import PARAMETERS


@pytest.mark.parametrize(
    ("code", "language", "label"),
    [
        ("do", "vi", "DO"),
        ("ph", "en", "pH"),
        ("sal", "vi", "Độ mặn"),
        ("sal", "en", "Salinity"),
        ("nh3", "vi", "NH3"),
        ("sal_drop_24h", "en", "Salinity fall/24h"),
        ("ph_swing", "vi", "pH dao động/24h"),
        ("risk_score", "en", "Risk score"),
        ("do_dawn", "vi", "DO rạng sáng"),
        ("cod", "en", "COD"),
        ("not_a_code", "en", "not_a_code"),
    ],
)
def test_quantity_labels(code: str, language: Language, label: str) -> None:
    assert quantity_label(code, language) == label


def test_rules_may_name_every_computed_quantity_and_every_parameter() -> None:
    computed = {c for c, q in DERIVED_QUANTITIES.items() if q.compute is not None}
    assert set(QUANTITIES) == computed | set(PARAMETERS)
    assert "do_dawn" not in QUANTITIES  # the dawn forecast's own
    for quantity in DERIVED_QUANTITIES.values():
        assert all(set(group) <= set(PARAMETERS) for group in quantity.needs), quantity.code
        assert quantity.label_vi
        assert quantity.label_en


@pytest.mark.parametrize(
    ("key", "stored"),
    [
        (SeriesKey("do"), "do"),
        (SeriesKey("cod", 3600.0), "cod_mean_1h"),
        (SeriesKey("tss", 86400.0), "tss_mean_1d"),
        (SeriesKey("cod", 1800.0), "cod_mean_30m"),
        (SeriesKey("cod", 90.0), "cod_mean_90s"),
    ],
)
def test_series_keys_keep_their_stored_names(key: SeriesKey, stored: str) -> None:
    assert str(key) == stored
