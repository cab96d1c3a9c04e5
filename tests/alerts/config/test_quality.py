"""Quality checks as data: the packaged file, validation and the compiled evaluator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from alerts.config.quality import QualityConfigError, load_quality_config, parse_quality_config
from telemetry import ConfigError, QCFlag

G, U, S, F, M = (
    int(QCFlag.GOOD),
    int(QCFlag.UNKNOWN),
    int(QCFlag.SUSPECT),
    int(QCFlag.FAIL),
    int(QCFlag.MISSING),
)
nan = float("nan")
BRIEFED = (
    *("temp", "ph", "do", "sal", "cond", "turb", "tan", "nh4"),
    *("no2", "tss", "cod", "tn", "tp", "flow", "chla"),
)

SMALL = """
parameters:
  ph:
    unit: ""
    gross_range: {fail: [0, 14], suspect: [6, 10], source: test}
  do:
    unit: "mg/L"
    gross_range: {fail: [0, 20], source: test}
    spike: {suspect: 1.0, fail: 3.0, source: test}
kinds:
  effluent:
    ph:
      gross_range: {fail: [0, 14], suspect: [2, 12], source: test}
    do:
      spike: null
"""


def grid(length: int) -> npt.NDArray[np.float64]:
    return 1.7e9 + 300.0 * np.arange(length)


def test_packaged_file_covers_the_parameters() -> None:
    config = load_quality_config()
    assert config.source == "alerts/config/quality.yaml"
    for code in BRIEFED:
        assert "gross_range" in config.checks(kind="shrimp_river", parameter=code), code
    assert not config.checks(kind="shrimp_river", parameter="h2s")  # not configured
    # the relative attenuation check reaches back one tidal cycle plus three lunar days
    assert config.lookback_s == pytest.approx(44_712 + 3 * 89_424)


@pytest.mark.parametrize(
    ("code", "fail", "suspect"),
    [
        # REFERENCE §5 says 0-14, but a dead probe reads 0.000 and must fail (issue 14)
        ("ph", (2, 14), (6, 10)),
        ("do", (0, 20), (0.5, 15)),
        ("temp", (0, 80), (15, 38)),
        ("sal", (0, 45), (0, 40)),
        ("tss", (0, 500), None),
        ("cod", (0, 100), None),
    ],
)
def test_default_gross_ranges_are_reference_5(
    code: str, fail: tuple[float, float], suspect: tuple[float, float] | None
) -> None:
    check = load_quality_config().checks(kind="cage_sea", parameter=code)["gross_range"]
    assert check.model_dump()["fail"] == fail
    assert check.model_dump()["suspect"] == suspect
    assert "REFERENCE §5" in check.source


def test_kind_overrides_replace_single_checks() -> None:
    config = load_quality_config()
    effluent_cod = config.checks(kind="effluent", parameter="cod")
    assert effluent_cod["gross_range"].model_dump()["fail"][1] > 100
    assert "spike" in effluent_cod  # the other checks stay
    assert "flat_line" in config.checks(kind="cage_sea", parameter="do")
    assert "flat_line" not in config.checks(kind="effluent", parameter="do")


def test_an_oxygen_crash_below_half_a_milligram_stays_good_at_a_shrimp_river() -> None:
    # The last hour before dawn of a crash: real, and a DO alert's business, so not masked
    # as suspect there; the REFERENCE §5 operator span still applies at sea cages.
    do = np.linspace(0.9, 0.2, 12)
    flags = load_quality_config().evaluate(
        times=300.0 * np.arange(12),
        values=np.vstack([do, do]),
        parameters=["do", "do"],
        kinds=["shrimp_river", "cage_sea"],
        status=np.zeros((2, 12), dtype=np.int8),
    )
    low = do < 0.5
    assert not np.isin(flags[0, low], [QCFlag.SUSPECT, QCFlag.FAIL]).any()
    assert (flags[1, low] == QCFlag.SUSPECT).all()


def test_every_check_names_a_source() -> None:
    config = load_quality_config()
    for kind in ("shrimp_river", "cage_sea", "effluent"):
        for code in BRIEFED:
            for name, check in config.checks(kind=kind, parameter=code).items():
                assert check.source.strip(), (kind, code, name)


def test_evaluate_hand_computed() -> None:
    config = parse_quality_config(SMALL, source="small.yaml")
    values = np.array(
        [
            [7, 5, nan, 11, 15],  # ph, shrimp river: operator span 6-10
            [7, 5, nan, 11, 15],  # ph, effluent: operator span 2-12
            [5, 5, 9, 5, 5],  # do: a spike of 4 fails
            [5, 5, 9, 5, 5],  # do, effluent: spike switched off
            [1, nan, 2, 3, 4],  # sal: no checks configured
        ],
        dtype=float,
    )
    flags = config.evaluate(
        times=grid(5),
        values=values,
        parameters=["ph", "ph", "do", "do", "sal"],
        kinds=["shrimp_river", "effluent", "cage_sea", "effluent", "cage_sea"],
    )
    assert flags.dtype == np.uint8
    assert flags.tolist() == [
        [G, S, M, S, F],
        [G, G, M, G, F],
        [G, G, F, G, G],
        [G, G, G, G, G],
        [U, M, U, U, U],
    ]


def test_device_status_raises_but_never_lowers() -> None:
    config = parse_quality_config(SMALL, source="small.yaml")
    flags = config.evaluate(
        times=grid(5),
        values=np.array([[7, 7, nan, 11, 7], [1, nan, 2, 3, 4]], dtype=float),
        parameters=["ph", "sal"],
        kinds=["cage_sea", "cage_sea"],
        status=np.array([[0, 1, 2, 0, 2], [1, 0, 0, 2, 0]]),
    )
    # measuring (0) does not make an unconfigured sample good; a missing one stays missing
    assert flags.tolist() == [[G, S, M, S, F], [S, M, U, F, U]]


def test_unknown_kind_gets_the_defaults() -> None:
    config = parse_quality_config(SMALL, source="small.yaml")
    flags = config.evaluate(
        times=grid(2), values=np.array([[5.0, 11.0]]), parameters=["ph"], kinds=["pond"]
    )
    assert flags.tolist() == [[S, S]]


def _realistic(rows: int, length: int) -> tuple[npt.NDArray[np.float64], list[str], list[str]]:
    rng = np.random.default_rng(5)
    codes = ["temp", "ph", "do", "sal", "turb", "cod"]
    base = {"temp": 30.0, "ph": 7.8, "do": 6.0, "sal": 15.0, "turb": 30.0, "cod": 40.0}
    parameters = [codes[i % len(codes)] for i in range(rows)]
    kinds = [("shrimp_river", "cage_sea", "effluent")[i % 3] for i in range(rows)]
    level = np.array([base[p] for p in parameters])[:, np.newaxis]
    cycle = np.sin(np.arange(length) * 2 * np.pi / 288)[np.newaxis]
    values = np.round(level * (1 + 0.1 * cycle) + rng.normal(0, 0.05, (rows, length)), 2)
    values[rng.random(values.shape) < 0.03] = nan
    values[::7, 100:] = values[::7, 100:101]  # stuck sensors
    values[3, 200] = 40.0  # salinity spike
    return values, parameters, kinds


@pytest.mark.parametrize("last", [1, 2, 12, 500])
def test_evaluating_the_newest_samples_matches_the_full_window(last: int) -> None:
    config = load_quality_config()
    values, parameters, kinds = _realistic(60, 400)
    status = np.zeros(values.shape, dtype=np.int8)
    status[5, -3:] = 1
    times = grid(400)
    full = config.evaluate(
        times=times, values=values, parameters=parameters, kinds=kinds, status=status
    )
    newest = config.evaluate(
        times=times, values=values, parameters=parameters, kinds=kinds, status=status, last=last
    )
    assert newest.shape == (60, min(last, 400))
    assert np.array_equal(newest, full[:, full.shape[1] - newest.shape[1] :])
    assert {S, F} <= set(np.unique(full).tolist())  # the stuck sensors and the spike


def test_empty_input() -> None:
    flags = load_quality_config().evaluate(
        times=grid(3), values=np.empty((0, 3)), parameters=[], kinds=[]
    )
    assert flags.shape == (0, 3)


def test_row_labels_must_match_the_rows() -> None:
    with pytest.raises(ValueError, match="parameters and kinds"):
        load_quality_config().evaluate(
            times=grid(3), values=np.ones((2, 3)), parameters=["ph"], kinds=["cage_sea"] * 2
        )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("parameters:\n  xyz: {unit: '', gross_range: {fail: [0, 1], source: s}}", "xyz"),
        ("parameters:\n  ph: {unit: 'mg/L', gross_range: {fail: [0, 14], source: s}}", "ph.unit"),
        ("parameters:\n  ph: {gross_range: {fail: [0, 14], source: s}}", "ph.unit"),
        (
            "parameters:\n  ph: {unit: '', gross_range: {fail: [0, 14], suspect: [6, 15], "
            "source: s}}",
            "parameters.ph.gross_range",
        ),
        ("parameters:\n  ph: {unit: '', gross_range: {fail: [14, 0], source: s}}", "fail"),
        ("parameters:\n  ph: {unit: '', gross_range: {fail: [0, 14]}}", "source"),
        ("parameters:\n  ph: {unit: '', spikes: {suspect: 1, source: s}}", "ph.spikes"),
        (
            "parameters:\n  ph: {unit: '', spike: {suspect: 2, fail: 1, source: s}}",
            "parameters.ph.spike",
        ),
        (
            "parameters:\n  ph: {unit: '', flat_line: {tolerance: 0.1, suspect_s: 0, source: s}}",
            "flat_line.suspect_s",
        ),
        ("parameters: {}\nkinds:\n  pond: {}", "kinds.pond"),
        ("parameters: [unclosed", "not valid YAML"),
    ],
)
def test_invalid_files_name_the_file_and_the_field(text: str, where: str) -> None:
    with pytest.raises(QualityConfigError) as caught:
        parse_quality_config(text, source="bad.yaml")
    message = str(caught.value)
    assert message.startswith("bad.yaml: invalid quality configuration")
    assert where in message
    assert isinstance(caught.value, ConfigError)


def test_load_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "quality.yaml"
    path.write_text(SMALL, "utf-8")
    assert load_quality_config(path).source == str(path)
    with pytest.raises(QualityConfigError, match="cannot read the file"):
        load_quality_config(tmp_path / "missing.yaml")
