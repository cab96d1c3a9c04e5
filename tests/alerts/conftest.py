"""Fixtures of the alert tests: the real Grand Bay series, read once."""

from __future__ import annotations

import csv

import pytest

from tests.alerts.real_data import data_file


@pytest.fixture(scope="session")
def grand_bay() -> dict[str, list[str]]:
    """Grand Bay NERRS columns by name (15-minute, 2021-07-02 to 2021-08-31)."""
    with data_file("nerrs_grandbay_gndblwq2021.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {name: [r[name].strip() for r in rows] for name in rows[0]}
