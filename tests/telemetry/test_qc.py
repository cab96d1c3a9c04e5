"""QARTOD flags combine by keeping the worst."""

from __future__ import annotations

import numpy as np
import pytest

from telemetry import QCFlag, worst

G, U, S, F, M = QCFlag.GOOD, QCFlag.UNKNOWN, QCFlag.SUSPECT, QCFlag.FAIL, QCFlag.MISSING


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (M, U, U),
        (U, G, G),
        (G, S, S),
        (S, F, F),
        (F, M, F),
        (M, M, M),
        (G, G, G),
        (M, G, G),
    ],
)
def test_worst_order_is_missing_unknown_good_suspect_fail(
    a: QCFlag, b: QCFlag, expected: QCFlag
) -> None:
    left = np.array([a, b], dtype=np.uint8)
    right = np.array([b, a], dtype=np.uint8)
    assert worst(left, right).tolist() == [expected, expected]


def test_flag_values_are_the_qartod_ones() -> None:
    assert [int(f) for f in (G, U, S, F, M)] == [1, 2, 3, 4, 9]
