"""Each fault changes exactly what it should, and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from simulators import Block, Fault, apply_faults
from simulators.faults import ClockSkew, Drift, Dropout, Outage, Spike, Status, Stuck
from telemetry import DeviceStatus

NAN = float("nan")
T0 = 1_795_000_000.0  # on the 5-minute grid
STEP = 300.0


def _block() -> Block:
    """Six samples, five minutes apart; do = 5.0, 5.1 ... and ph = 8.0 throughout."""
    epochs = T0 + STEP * np.arange(6, dtype=np.float64)
    do = 5.0 + 0.1 * np.arange(6, dtype=np.float64)
    return Block(epochs, {"do": do, "ph": np.full(6, 8.0)})


def _at(index: float) -> float:
    return T0 + STEP * index


CLEAN_DO = [5.0, 5.1, 5.2, 5.3, 5.4, 5.5]


@pytest.mark.parametrize(
    ("fault", "expected_do"),
    [
        (Spike("do", _at(2), 10.0), [5.0, 5.1, 15.2, 5.3, 5.4, 5.5]),
        (Spike("do", _at(2.5), 10.0), CLEAN_DO),  # not a sampling time: no sample hit
        (Stuck("do", _at(1), _at(4), 7.0), [5.0, 7.0, 7.0, 7.0, 5.4, 5.5]),
        # 288 samples per day: 1 mg/L per day is 1/288 per step from the start
        (Drift("do", _at(3), _at(6), 288.0), [5.0, 5.1, 5.2, 5.3, 6.4, 7.5]),
        (Dropout(_at(0), _at(2), "do"), [NAN, NAN, 5.2, 5.3, 5.4, 5.5]),
        (Spike("cod", _at(2), 10.0), CLEAN_DO),  # a parameter the station lacks
    ],
)
def test_value_faults(fault: Fault, expected_do: list[float]) -> None:
    block = apply_faults(_block(), [fault])
    np.testing.assert_allclose(block.values["do"], expected_do, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(block.values["ph"], np.full(6, 8.0))
    assert block.kept.all()
    np.testing.assert_array_equal(block.stamps, block.epochs)
    np.testing.assert_array_equal(block.release, block.epochs)


def test_dropout_loses_whole_samples_in_its_window() -> None:
    block = apply_faults(_block(), [Dropout(_at(1), _at(3))])
    assert block.kept.tolist() == [True, False, False, True, True, True]
    np.testing.assert_allclose(block.values["do"], CLEAN_DO)


@pytest.mark.parametrize(
    ("fault", "expected_do", "expected_ph"),
    [
        (Status(_at(4), _at(9), DeviceStatus.ERROR), [0, 0, 0, 0, 2, 2], [0, 0, 0, 0, 2, 2]),
        (Status(_at(0), _at(2), DeviceStatus.CALIBRATING, ("ph",)), [0] * 6, [1, 1, 0, 0, 0, 0]),
    ],
)
def test_status_marks_values(fault: Fault, expected_do: list[int], expected_ph: list[int]) -> None:
    block = apply_faults(_block(), [fault])
    assert block.status["do"].tolist() == expected_do
    assert block.status["ph"].tolist() == expected_ph
    np.testing.assert_allclose(block.values["do"], CLEAN_DO)


def test_clock_skew_shifts_only_the_written_timestamps() -> None:
    block = apply_faults(_block(), [ClockSkew(_at(2), _at(4), -150.0)])
    assert (block.stamps - block.epochs).tolist() == [0, 0, -150, -150, 0, 0]
    np.testing.assert_array_equal(block.release, block.epochs)
    np.testing.assert_allclose(block.values["do"], CLEAN_DO)


def test_outage_holds_samples_until_the_link_returns() -> None:
    block = apply_faults(_block(), [Outage(_at(1), _at(3.5))])
    assert (block.release - T0).tolist() == [
        0,
        3.5 * STEP,
        3.5 * STEP,
        3.5 * STEP,
        4 * STEP,
        5 * STEP,
    ]
    np.testing.assert_array_equal(block.stamps, block.epochs)  # original times kept
    assert block.kept.all()


def test_stuck_hides_drift_and_spike_underneath() -> None:
    faults: list[Fault] = [
        Stuck("do", _at(1), _at(5), 6.0),
        Spike("do", _at(2), 10.0),
        Drift("do", _at(0), _at(6), 288.0),
    ]
    block = apply_faults(_block(), faults)
    np.testing.assert_allclose(block.values["do"], [5.0, 6.0, 6.0, 6.0, 6.0, 10.5])
