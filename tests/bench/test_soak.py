"""The soak's short form: 300 stations sampling every 10 s through the whole stack for 90 s,
with every fault.

``python -m bench.soak`` runs the long form by hand; this one keeps CI within about two minutes. Its
report and plot are left in ``artifacts/soak/`` for a person to look at.
"""

from __future__ import annotations

import json

import pytest

from bench.soak import SoakConfig, run
from tests.support.common import ARTIFACTS, unavailable
from tests.support.postgres import postgres_bindir

pytestmark = pytest.mark.integration


@pytest.mark.timeout(400)
def test_faults_lose_nothing_repeat_nothing_and_recover() -> None:
    if postgres_bindir() is None:
        unavailable("PostgreSQL server binaries (Debian package postgresql)")
    out = ARTIFACTS / "soak"
    config = SoakConfig(stations=300, interval_s=10, duration_s=90, cut_s=4, recover_s=30, out=out)
    report = run(config)
    assert report.ok, json.dumps(report.failures)
    assert report.published > 15_000  # 300 stations x 9 samples x 8 or fewer values, less outages
    assert [what for _, what in report.faults] == [
        "broker restarted",
        "ingest-1 kill -9",
        "alerts-1 kill -9",
        "notify-1 kill -9",
        "PostgreSQL restarted",
        "database cut 4 s",
    ]
    assert report.expected_offline == dict.fromkeys(report.expected_offline, 1)
    assert len(report.expected_offline) == 5
    assert report.sms > 0
    assert (out / "soak.png").stat().st_size > 10_000
